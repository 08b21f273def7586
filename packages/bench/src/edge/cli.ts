// `tunebench edge --config <file> [--backend gpu|cpu]`: one edge phase (phase.ts), the child-process
// command the sweep runner starts for the edge suite's phases. The phase trains and runs the fp32 /
// int8 variants on WebGPU (it measures WebGPU latency) and the ONNX variants on ONNX Runtime CPU;
// --backend is accepted because the runner passes it to every phase.
import { Command, Option } from 'commander';
import { runEdgePhase } from './phase.js';
import { readPhaseConfigFile } from '../phase_dir.js';

export function edgeCommand(): Command {
  return new Command('edge')
    .description('one edge phase: three single-task models, one multi-task model (shared encoder, three heads) or a distilled student; per-task scores, parameters, size on disk, ms per example of each deployment variant (fp32 / int8 on WebGPU, onnx / onnx_int8 on ONNX Runtime CPU; config: packages/bench/src/edge/config.ts)')
    .requiredOption('-c, --config <file>', 'JSON phase config')
    .addOption(new Option('--backend <name>', 'accepted for the runner; the phase runs on WebGPU').choices(['gpu', 'cpu']).default('gpu'))
    .action(async (f: { config: string; backend: 'gpu' | 'cpu' }) => {
      const raw = readPhaseConfigFile(f.config);
      if (f.backend === 'cpu') console.log('edge: --backend cpu: this phase trains on the WebGPU adapter (it times WebGPU inference; the CPU reference model has no distillation); its ONNX variants run on ONNX Runtime CPU as always');
      await runEdgePhase(raw, { source: f.config });
    });
}
