// `tunebench bench plan --emit slurm|k8s|github --shards N`: the job descriptions that run one
// sweep on the engines researchers already have, N shards at once (`bench run --shard i/N`, each
// into its own staging folder shards/<i>of<N>/ of a shared output folder, runner.ts) and then one
// merge job (`bench merge`, merge.ts) that joins them and writes the leaderboard.
//
//   slurm:  sweep.sbatch (a job array, --array=0-(N-1)), merge.sbatch, submit.sh (sbatch
//           --parsable for the array, then the merge with --dependency=afterok:<array id>)
//   k8s:    sweep-job.yaml (an Indexed Job, JOB_COMPLETION_INDEX), merge-job.yaml, submit.sh
//           (kubectl apply, wait for the Indexed Job to complete, apply the merge Job)
//   github: tunebench-sweep.yml (a workflow: a matrix over shards, each uploading its records
//           as an artifact; a merge job downloading them and uploading the leaderboard)
//
// Every file starts with comments saying what it assumes (shared folder or artifact store, the
// container image, the Vulkan driver or GPU). The texts are built here as strings, one function
// per engine, so what is written is what one reads below.

import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { tempPathFor } from './runner.js';

export const EMIT_TARGETS = ['slurm', 'k8s', 'github'] as const;
export type EmitTarget = (typeof EMIT_TARGETS)[number];

export interface EmitSpec {
  target: EmitTarget;
  shards: number;
  /** Arguments of `bench run` that select the sweep (suites, --preset, --strategy, ...), without --out and --shard. */
  runArgs: string[];
  /** The sweep's output folder as the jobs see it (a shared folder; in k8s a path on the mounted volume). */
  outDir: string;
  /** Job name (Slurm job name, k8s Job name prefix, workflow name). */
  name: string;
  /** Slurm: the repository checkout on the shared folder (its node_modules installed). */
  workdir: string;
  /** k8s: the container image (the repository at /app, `npm run setup` done in it). */
  image: string;
  /** k8s: the ReadWriteMany PersistentVolumeClaim holding the output folder. */
  pvc: string;
  /** CPUs per shard (Slurm --cpus-per-task, k8s requests). */
  cpus: number;
  /** Runs of the sweep and of each shard (stated in the files). */
  runs: number;
  preset: string;
}

export interface EmittedFile {
  name: string;
  text: string;
  executable?: boolean;
}

/** Quotes a word for POSIX sh when it needs it. */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_\/.,:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const runLine = (spec: EmitSpec, tb: string, shard: string) =>
  `${tb} bench run ${spec.runArgs.map(shQuote).join(' ')} --shard ${shard} --out ${shQuote(spec.outDir)} --no-report`;

function slurm(spec: EmitSpec): EmittedFile[] {
  const n = spec.shards;
  const tb = `node ${shQuote(join(spec.workdir, 'bin', 'tunebench.mjs'))}`;
  const logs = join(spec.outDir, 'slurm-logs');
  const assumes = `# Assumes:
#   - a shared folder that every node mounts at the same path, holding
#       the tunebench checkout ${spec.workdir} (npm ci / npm run setup done there), and
#       the sweep's output folder ${spec.outDir} (each shard writes only shards/<i>of${n}/ in it);
#   - no container image: the jobs run on the nodes' own system (at a site with containers, put
#     e.g. \`apptainer exec <image>\` before the node command); node (>= 20) on the PATH of the
#     compute nodes (sbatch passes the submitting shell's environment, PATH included);
#   - a WebGPU adapter on the compute nodes for GPU presets: a GPU with a Vulkan driver, or Mesa's
#     software Vulkan driver (lavapipe, mesa-vulkan-drivers >= 23: scripts/setup-vulkan.sh);
#     the ${spec.preset} preset${spec.preset === 'micro' ? ' trains on the CPU backend and needs none' : ' uses it'}.`;
  const sweep = `#!/bin/bash
# tunebench sweep "${spec.name}": ${spec.runs} runs in ${n} shards, one Slurm array task per shard.
# Written by \`tunebench bench plan --emit slurm\`; submit with ./submit.sh (it queues merge.sbatch after this).
${assumes}
#SBATCH --job-name=${spec.name}
#SBATCH --array=0-${n - 1}
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=${spec.cpus}
#SBATCH --output=${logs}/%x-%A_%a.out
set -euo pipefail
export XDG_RUNTIME_DIR="\${XDG_RUNTIME_DIR:-/tmp}"
cd ${shQuote(spec.workdir)}
# Array task k (0-based) runs shard k+1 of ${n}.
${runLine(spec, tb, `$((SLURM_ARRAY_TASK_ID+1))/${n}`)}
`;
  const merge = `#!/bin/bash
# tunebench sweep "${spec.name}": joins the ${n} shards' records and writes the leaderboard
# (${join(spec.outDir, 'leaderboard')}). Queued by ./submit.sh with --dependency=afterok:<array job id>,
# so it starts only when every array task succeeded.
${assumes}
#SBATCH --job-name=${spec.name}-merge
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --output=${logs}/%x-%j.out
set -euo pipefail
cd ${shQuote(spec.workdir)}
${tb} bench merge --out ${shQuote(spec.outDir)}
`;
  const submit = `#!/bin/sh
# Submits the sweep "${spec.name}" (${n} array tasks) and its merge job, which waits for all of them
# (afterok: a failed shard leaves the merge pending; cancel it with scancel, fix, resubmit: finished
# runs are skipped). Prints the two job ids.
set -eu
cd "$(dirname "$0")"
mkdir -p ${shQuote(logs)}
array=$(sbatch --parsable sweep.sbatch)
array=\${array%%;*}
merge=$(sbatch --parsable --dependency=afterok:$array merge.sbatch)
merge=\${merge%%;*}
echo "array job $array (${n} tasks), merge job $merge"
`;
  return [{ name: 'sweep.sbatch', text: sweep }, { name: 'merge.sbatch', text: merge }, { name: 'submit.sh', text: submit, executable: true }];
}

function k8s(spec: EmitSpec): EmittedFile[] {
  const n = spec.shards;
  const assumes = `# Assumes:
#   - the image ${spec.image}: this repository at /app with npm ci / npm run setup done (node >= 20,
#     node_modules, and for GPU presets a Vulkan driver: Mesa lavapipe, mesa-vulkan-drivers >= 23
#     from bookworm-backports as scripts/setup-vulkan.sh installs it, or a GPU and its driver);
#     the ${spec.preset} preset${spec.preset === 'micro' ? ' trains on the CPU backend and needs none' : ' uses it'};
#   - a ReadWriteMany PersistentVolumeClaim "${spec.pvc}" (the shared folder), mounted at /results;
#     the sweep writes ${spec.outDir} there, each shard only shards/<i>of${n}/;
#   - Kubernetes >= 1.24 (Indexed Jobs: JOB_COMPLETION_INDEX).`;
  const container = (name: string, script: string, cpus: number) => ({
    name, image: spec.image, workingDir: '/app',
    command: ['/bin/sh', '-c', script],
    env: [{ name: 'XDG_RUNTIME_DIR', value: '/tmp' }],
    resources: { requests: { cpu: String(cpus) } },
    volumeMounts: [{ name: 'results', mountPath: '/results' }],
  });
  const podSpec = (c: ReturnType<typeof container>) => ({
    restartPolicy: 'Never', containers: [c], volumes: [{ name: 'results', persistentVolumeClaim: { claimName: spec.pvc } }],
  });
  const job = {
    apiVersion: 'batch/v1', kind: 'Job',
    metadata: { name: spec.name, labels: { app: 'tunebench', sweep: spec.name } },
    spec: {
      completionMode: 'Indexed', completions: n, parallelism: n, backoffLimit: n,
      template: {
        metadata: { labels: { app: 'tunebench', sweep: spec.name } },
        // Pod k (JOB_COMPLETION_INDEX, 0-based) runs shard k+1 of n.
        spec: podSpec(container('shard', runLine(spec, 'node bin/tunebench.mjs', `$((JOB_COMPLETION_INDEX+1))/${n}`), spec.cpus)),
      },
    },
  };
  const mergeJob = {
    apiVersion: 'batch/v1', kind: 'Job',
    metadata: { name: `${spec.name}-merge`, labels: { app: 'tunebench', sweep: spec.name } },
    spec: {
      completions: 1, backoffLimit: 1,
      template: { metadata: { labels: { app: 'tunebench', sweep: spec.name } }, spec: podSpec(container('merge', `node bin/tunebench.mjs bench merge --out ${shQuote(spec.outDir)}`, 1)) },
    },
  };
  const head = (what: string) => `# tunebench sweep "${spec.name}": ${what}\n# Written by \`tunebench bench plan --emit k8s\`; submit both with ./submit.sh.\n${assumes}\n`;
  const submit = `#!/bin/sh
# Submits the sweep "${spec.name}": the Indexed Job (${n} pods, one per shard), then, once it
# completed, the merge Job (Kubernetes Jobs have no dependency between them; kubectl waits).
set -eu
cd "$(dirname "$0")"
kubectl apply -f sweep-job.yaml
kubectl wait --for=condition=complete --timeout=-1s job/${spec.name}
kubectl apply -f merge-job.yaml
kubectl wait --for=condition=complete --timeout=-1s job/${spec.name}-merge
echo "leaderboard: ${join(spec.outDir, 'leaderboard')} on the volume ${spec.pvc}"
`;
  return [
    { name: 'sweep-job.yaml', text: head(`${spec.runs} runs in ${n} shards, an Indexed Job (pod k runs shard k+1).`) + stringify(job, { lineWidth: 0 }) },
    { name: 'merge-job.yaml', text: head('joins the shards\' records and writes the leaderboard; apply after the Indexed Job completed.') + stringify(mergeJob, { lineWidth: 0 }) },
    { name: 'submit.sh', text: submit, executable: true },
  ];
}

function github(spec: EmitSpec): EmittedFile[] {
  const n = spec.shards;
  const gpuNote = spec.preset === 'micro' ? 'trains on the CPU backend (no adapter needed; the driver is installed anyway)' : 'needs the WebGPU adapter';
  const setup = [
    { uses: 'actions/checkout@v4' },
    { uses: 'actions/setup-node@v4', with: { 'node-version': 22, cache: 'npm' } },
    { name: 'Install the npm packages', run: 'npm ci --no-audit --no-fund' },
    { name: 'Install the software Vulkan driver (Mesa lavapipe)', run: 'sudo bash scripts/setup-vulkan.sh' },
  ];
  const staged = (f: string) => `${spec.outDir}/shards/*/${f}/`;
  const wf = {
    name: `tunebench sweep ${spec.name}`,
    on: { workflow_dispatch: {} },
    permissions: { contents: 'read' },
    jobs: {
      shard: {
        name: 'shard ${{ matrix.shard }} of ' + n,
        'runs-on': 'ubuntu-24.04',
        'timeout-minutes': 360,
        strategy: { 'fail-fast': false, matrix: { shard: Array.from({ length: n }, (_, i) => i + 1) } },
        env: { XDG_RUNTIME_DIR: '/tmp' },
        steps: [
          ...setup,
          { name: 'Run the shard', run: runLine(spec, 'node bin/tunebench.mjs', `\${{ matrix.shard }}/${n}`) },
          {
            name: "Upload the shard's records",
            uses: 'actions/upload-artifact@v4',
            // The shards/ folder itself (on this runner it holds only this shard's <i>of<n>/), so the
            // artifact keeps the <i>of<n>/ level and the merge job's downloads land side by side;
            // run directories and the base model (checkpoints) stay behind.
            with: { name: 'shard-${{ matrix.shard }}', path: [`${spec.outDir}/shards/`, `!${staged('runs')}`, `!${staged('base')}`].join('\n'), 'if-no-files-found': 'error', 'retention-days': 7 },
          },
        ],
      },
      merge: {
        needs: 'shard',
        'runs-on': 'ubuntu-24.04',
        'timeout-minutes': 30,
        steps: [
          { uses: 'actions/checkout@v4' },
          { uses: 'actions/setup-node@v4', with: { 'node-version': 22, cache: 'npm' } },
          { name: 'Install the npm packages', run: 'npm ci --no-audit --no-fund' },
          { name: "Download every shard's records", uses: 'actions/download-artifact@v4', with: { pattern: 'shard-*', path: `${spec.outDir}/shards`, 'merge-multiple': true } },
          { name: 'Merge the shards and write the leaderboard', run: `node bin/tunebench.mjs bench merge --out ${shQuote(spec.outDir)}` },
          { name: 'Upload the leaderboard', uses: 'actions/upload-artifact@v4', with: { name: `leaderboard-${spec.name}`, path: `${spec.outDir}/leaderboard`, 'if-no-files-found': 'error' } },
        ],
      },
    },
  };
  const text = `# tunebench sweep "${spec.name}": ${spec.runs} runs in ${n} shards, a GitHub Actions matrix over the
# shards, then a merge job that uploads the leaderboard as the artifact leaderboard-${spec.name}.
# Written by \`tunebench bench plan --emit github\`; copy it to .github/workflows/ and run it from
# the Actions tab (workflow_dispatch).
# Assumes:
#   - GitHub-hosted ubuntu-24.04 runners, no container image (root through sudo for apt-get,
#     node 22 from actions/setup-node); no shared folder: each
#     shard uploads its staging folder's records (${spec.outDir}/shards/<i>of${n}/) as an
#     artifact, the artifact store is what joins them;
#   - the software Vulkan driver (Mesa lavapipe from apt, scripts/setup-vulkan.sh); the ${spec.preset}
#     preset ${gpuNote}; a runner with a GPU and its Vulkan driver works as well;
#   - each shard fits a job's time limit (timeout-minutes below; 6 h at most on hosted runners).
`;
  return [{ name: `${spec.name}.yml`, text: text + stringify(wf, { lineWidth: 0 }) }];
}

export function emitJobs(spec: EmitSpec): EmittedFile[] {
  if (!Number.isInteger(spec.shards) || spec.shards < 1) throw new Error(`--shards ${spec.shards}: expected a positive integer`);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(spec.name) || spec.name.length > 52) {
    throw new Error(`--name ${spec.name}: job names are lower-case letters, digits and '-' (Kubernetes names), at most 52 characters`);
  }
  return spec.target === 'slurm' ? slurm(spec) : spec.target === 'k8s' ? k8s(spec) : github(spec);
}

/** Writes the files into `dir` (each atomically); returns their paths. */
export function writeEmitted(dir: string, files: EmittedFile[]): string[] {
  mkdirSync(dir, { recursive: true });
  return files.map((f) => {
    const path = join(dir, f.name);
    const tmp = tempPathFor(path);
    writeFileSync(tmp, f.text);
    if (f.executable) chmodSync(tmp, 0o755);
    renameSync(tmp, path);
    return path;
  });
}
