/** An unbounded FIFO with an async iterator that ends on close or throws the failure. */
export class AsyncQueue<T> {
  #items: T[] = [];
  #waiter?: () => void;
  #done = false;
  #error?: unknown;

  push(item: T): void {
    if (this.#done) return;
    this.#items.push(item);
    this.#wake();
  }

  close(error?: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = error;
    this.#wake();
  }

  get closed(): boolean {
    return this.#done;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    while (true) {
      if (this.#items.length > 0) {
        yield this.#items.shift()!;
      } else if (this.#done) {
        if (this.#error !== undefined) throw this.#error;
        return;
      } else {
        await new Promise<void>((resolve) => this.#waiter = resolve);
      }
    }
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }
}
