// The progress line: step, loss, learning rate, tokens/s, ETA. A cli-progress bar when stdout is a
// terminal, plain lines otherwise (logs, CI). Every line also goes to the run's log.txt.

import { SingleBar } from 'cli-progress';

interface Payload {
  loss: string;
  lr: string;
  tps: string | number;
}

export class ProgressPrinter {
  private bar: SingleBar | null = null;
  private total = 0;
  private value = 0;
  private startStep = 0;
  private t0 = 0;
  private payload: Payload = { loss: '-', lr: '-', tps: '-' };

  constructor(private readonly enabled: boolean, private readonly log: (line: string) => void) {}

  private get tty(): boolean {
    return this.enabled && process.stdout.isTTY === true;
  }

  private startBar(): void {
    this.bar = new SingleBar({ format: 'step {value}/{total} | loss {loss} | lr {lr} | {tps} tok/s | ETA {eta_formatted}', etaBuffer: 20, hideCursor: true });
    this.bar.start(this.total, this.value, this.payload);
  }

  start(total: number, step: number): void {
    this.total = total;
    this.value = step;
    this.startStep = step;
    this.t0 = Date.now();
    if (this.tty) this.startBar();
  }

  update(step: number, v: { loss: number; lr: number; tps: number; epoch: number }): void {
    this.value = step;
    const elapsed = (Date.now() - this.t0) / 1000;
    const done = step - this.startStep;
    const eta = done > 0 ? (elapsed / done) * (this.total - step) : NaN;
    const line = `step ${step}/${this.total} epoch ${v.epoch} loss ${v.loss.toFixed(4)} lr ${v.lr.toExponential(2)} ${Math.round(v.tps)} tok/s ETA ${Number.isFinite(eta) ? `${Math.round(eta)} s` : '-'}`;
    this.log(line);
    this.payload = { loss: v.loss.toFixed(4), lr: v.lr.toExponential(2), tps: Math.round(v.tps) };
    if (this.bar) this.bar.update(step, this.payload);
    else if (this.enabled) console.log(line);
  }

  /** A message line (above the bar on a terminal). */
  line(text: string): void {
    this.log(text);
    if (!this.enabled) return;
    if (this.bar) {
      // cli-progress draws in place; stop it, print, and draw a new bar below the message.
      this.bar.stop();
      console.log(text);
      this.startBar();
    } else console.log(text);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
