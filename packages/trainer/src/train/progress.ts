// The progress line: step, loss, learning rate, tokens/s, ETA. A cli-progress bar when stdout is a
// terminal, plain lines otherwise (logs, CI). Every line also goes to the run's log.txt.

import { SingleBar } from 'cli-progress';

export class ProgressPrinter {
  private bar: SingleBar | null = null;
  private total = 0;
  private startStep = 0;
  private t0 = 0;

  constructor(private readonly enabled: boolean, private readonly log: (line: string) => void) {}

  start(total: number, step: number): void {
    this.total = total;
    this.startStep = step;
    this.t0 = Date.now();
    if (this.enabled && process.stdout.isTTY) {
      this.bar = new SingleBar({
        format: 'step {value}/{total} | loss {loss} | lr {lr} | {tps} tok/s | ETA {eta_formatted}',
        etaBuffer: 20,
        hideCursor: true,
      });
      this.bar.start(total, step, { loss: '-', lr: '-', tps: '-' });
    }
  }

  update(step: number, v: { loss: number; lr: number; tps: number; epoch: number }): void {
    const elapsed = (Date.now() - this.t0) / 1000;
    const done = step - this.startStep;
    const eta = done > 0 ? (elapsed / done) * (this.total - step) : NaN;
    const line = `step ${step}/${this.total} epoch ${v.epoch} loss ${v.loss.toFixed(4)} lr ${v.lr.toExponential(2)} ${Math.round(v.tps)} tok/s ETA ${Number.isFinite(eta) ? `${Math.round(eta)} s` : '-'}`;
    this.log(line);
    if (this.bar) this.bar.update(step, { loss: v.loss.toFixed(4), lr: v.lr.toExponential(2), tps: Math.round(v.tps) });
    else if (this.enabled) console.log(line);
  }

  line(text: string): void {
    this.log(text);
    if (!this.enabled) return;
    if (this.bar) this.bar.stop();
    console.log(text);
    if (this.bar) {
      // cli-progress cannot print above the bar; restart it below the message.
      const b = this.bar;
      this.bar = null;
      void b;
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
