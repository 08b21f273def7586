// A run that initialises from a checkpoint trained with LoRA (e.g. LoRA-only continued
// pretraining before a fine-tune) must start from the function that checkpoint computes, i.e.
// W + (α/r)·B·A, not from the frozen base W. So the adapter is merged into the base weights on
// load, with the r / alpha / targets the checkpoint's config.json records (tunebench.lora).
//
// When the new run is itself LoRA (same targets or not) the adapter is still merged and the new
// run starts a fresh adapter (A Kaiming, B = 0, i.e. starting exactly at the merged function):
// a new phase is a new training problem (new task head, new learning rate, maybe another r), so
// continuing the old adapter's A/B would tie the new run to the old r and targets and to an
// adapter fitted to another objective, while merge-then-fresh is exact for any new config and is
// what PEFT users do between stages (merge_and_unload, then a new LoraConfig). Continuing the
// same adapter is what `--resume` of the same run is for (it loads A and B as saved).
import { join } from 'node:path';
import type { LoadedCheckpoint } from '../checkpoint/checkpoint.js';
import { CheckpointError } from '../checkpoint/checkpoint.js';
import { mergeLoraTensors, validateLora, type LoraConfig, type NamedTensors } from '../model/index.js';

/** The LoRA config a checkpoint's config.json records (tunebench.lora), or null when none. */
export function checkpointLora(ck: Pick<LoadedCheckpoint, 'config' | 'dir'>): LoraConfig | null {
  const src = join(ck.dir, 'config.json');
  const tb = ck.config.tunebench as { lora?: unknown } | undefined;
  const raw = tb?.lora;
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object') throw new CheckpointError(`${src}: tunebench.lora must be an object {r, alpha, dropout, targets}, got ${JSON.stringify(raw)}`);
  const l = raw as Record<string, unknown>;
  const lora = { r: l.r, alpha: l.alpha, dropout: l.dropout ?? 0, targets: l.targets } as LoraConfig;
  try {
    validateLora(lora);
  } catch (e) {
    throw new CheckpointError(`${src}: tunebench.lora: ${(e as Error).message}`);
  }
  return lora;
}

/**
 * The checkpoint's weights with any LoRA adapter merged into its base weights (no `.lora_`
 * tensors left), and the adapter config that was merged (null when the checkpoint has none).
 * A checkpoint with `.lora_` tensors but no tunebench.lora in config.json is an error: without
 * r and alpha the scale α/r is unknown and dropping the adapter would silently change the model.
 */
export function mergeInitAdapter(ck: LoadedCheckpoint): { weights: NamedTensors; merged: LoraConfig | null } {
  const adapterNames = [...ck.weights.keys()].filter((n) => n.includes('.lora_'));
  const lora = checkpointLora(ck);
  if (adapterNames.length === 0) return { weights: new Map(ck.weights), merged: null };
  if (!lora) {
    throw new CheckpointError(
      `${ck.dir} holds ${adapterNames.length} LoRA tensors (e.g. '${adapterNames[0]}') but ${join(ck.dir, 'config.json')} records no LoRA config ` +
        `(tunebench.lora with r, alpha, targets), so the adapter cannot be merged into the base weights`,
    );
  }
  try {
    return { weights: mergeLoraTensors(ck.weights, lora, ck.dir), merged: lora };
  } catch (e) {
    throw new CheckpointError((e as Error).message);
  }
}
