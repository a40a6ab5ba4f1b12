/** Bounds a quantity in use (bytes in flight, concurrent reads); waiters are served in order. */
export class Semaphore {
  #available: number;
  #waiters: { amount: number; resolve: () => void }[] = [];

  constructor(capacity: number) {
    this.#available = capacity;
  }

  /** Waits until `amount` is available and takes it. */
  async acquire(amount = 1): Promise<void> {
    if (this.#waiters.length === 0 && this.#available >= amount) {
      this.#available -= amount;
      return;
    }
    await new Promise<void>((resolve) => this.#waiters.push({ amount, resolve }));
  }

  /** Gives `amount` back. */
  release(amount = 1): void {
    this.#available += amount;
    while (this.#waiters.length > 0 && this.#waiters[0].amount <= this.#available) {
      const w = this.#waiters.shift()!;
      this.#available -= w.amount;
      w.resolve();
    }
  }
}
