/** Runs a production step every `intervalMs` until stopped; can be paused and resumed. */
export class ProductionTimer {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private isPaused = false;

  constructor(
    private readonly intervalMs: number,
    private readonly step: () => void,
  ) {}

  get paused(): boolean {
    return this.isPaused;
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  pause(): void {
    this.isPaused = true;
    this.cancel();
  }

  resume(): void {
    this.isPaused = false;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.cancel();
  }

  private schedule(): void {
    if (!this.running || this.isPaused || this.intervalMs <= 0 || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.step();
      this.schedule();
    }, this.intervalMs);
    // The simulator's server keeps a process alive when it should; the timer alone must not.
    this.timer.unref();
  }

  private cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
