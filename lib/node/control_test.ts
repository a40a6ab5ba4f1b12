import assert from "node:assert/strict";
import { join } from "node:path";
import { ExitCode, FsyncError } from "../model/mod.ts";
import { askControl, serveControl } from "./control.ts";

async function raw(path: string, text: string, readReply: boolean): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path });
  await conn.write(new TextEncoder().encode(text));
  if (!readReply) {
    conn.close();
    return "";
  }
  return await new Response(conn.readable).text();
}

Deno.test("the control socket: a client that goes away or sends garbage gets nothing or a usage error, and the next one is answered", async () => {
  const home = await Deno.makeTempDir();
  const path = join(home, "control.sock");
  const server = await serveControl(path, (request) => {
    if (request.command === "folder") throw new FsyncError(`no folder ${request.folder}`, ExitCode.usage);
    return Promise.resolve({ folders: 0 });
  });
  try {
    await raw(path, '{"command": "sta', false); // gone before its line ends
    assert.match(await raw(path, "not json\n", true), /"ok":false,"error":"the request is not JSON","exitCode":2/);
    assert.match(await raw(path, '{"command":"format"}\n', true), /unknown command \\"format\\"/);
    await assert.rejects(
      askControl(path, { command: "folder", folder: "x", action: "rescan" }),
      (e: FsyncError) => e.exitCode === ExitCode.usage && /no folder x/.test(e.message),
    );
    assert.deepEqual(await askControl(path, { command: "status" }), { folders: 0 });
  } finally {
    await server.close();
    await Deno.remove(home, { recursive: true });
  }
});
