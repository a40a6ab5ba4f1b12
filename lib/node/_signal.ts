/** A level-triggered wake-up: `wait()` resolves at the next `notify()`. */
export class Signal {
  #waiters: (() => void)[] = [];

  /** Wakes everyone waiting now. */
  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves at the next notify. */
  wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
