// A Suite as the text of a suite file: what `npm run suites:write` writes for each built-in suite
// (packages/bench/suites/<name>.yaml). Strategies read one short line per phase: the override
// maps, params, sizes and lists of names are written in flow style ({ a: 1, b: 2 }, [x, y]).
// Imports nothing that loads the built-in suites (the writer runs before the files exist).
import { Document, isMap, isPair, isScalar, isSeq, visit, type Node } from 'yaml';
import type { Suite } from './types.js';

/** A suite as suite-file data (the inverse of parseSuiteText for suites without dataset
 * directories): how a built-in suite reads as a file a user can copy and edit. */
export function suiteToFile(s: Suite): Record<string, unknown> {
  const strategies: Record<string, unknown> = {};
  for (const v of s.variants) {
    strategies[v.name] = {
      params: v.params,
      ...(v.pretrain ? { pretrain: v.pretrain } : {}),
      ...(v.mlmEval ? { mlmEval: v.mlmEval } : {}),
      ...(v.finetune ? { finetune: v.finetune } : {}),
      ...(v.decide ? { decide: v.decide } : {}),
      ...(v.probe !== undefined ? { probe: v.probe } : {}),
      ...(v.fewshot ? { fewshot: { method: v.fewshot.method, shots: v.fewshot.shots, encoder: v.fewshot.encoder, ...(v.fewshot.teacher ? { teacher: v.fewshot.teacher } : {}), ...(v.fewshot.set ? { set: v.fewshot.set } : {}) } } : {}),
      ...(v.edge ? { edge: { mode: v.edge.mode, student: v.edge.student, ...(v.edge.hiddenMse !== undefined ? { hiddenMse: v.edge.hiddenMse } : {}), deploy: v.edge.deploy, ...(v.edge.set ? { set: v.edge.set } : {}) } } : {}),
    };
  }
  const presets: Record<string, unknown> = {};
  for (const [p, sel] of Object.entries(s.presets ?? {})) {
    presets[p] = {
      ...(sel?.variants ? { strategies: sel.variants } : {}), ...(sel?.datasets ? { datasets: sel.datasets } : {}),
      ...(sel?.sizes ? { sizes: sel.sizes } : {}), ...(sel?.seeds ? { seeds: sel.seeds } : {}),
    };
  }
  return {
    name: s.name, title: s.title, question: s.question, datasets: s.datasets, baseline: s.baseline,
    ...(s.mainMetric ? { mainMetric: s.mainMetric } : {}), ...(s.lowerIsBetter ? { lowerIsBetter: true } : {}),
    ...(s.curveParam ? { curveParam: s.curveParam } : {}), ...(s.curveGroup ? { curveGroup: s.curveGroup } : {}),
    ...(s.languageMetrics ? { languageMetrics: true } : {}), ...(s.costMatrix ? { costMatrix: s.costMatrix } : {}),
    ...(s.datasetBases ? { datasetBases: s.datasetBases } : {}),
    strategies,
    ...(Object.keys(presets).length ? { presets } : {}),
  };
}

/** Flow style for lists of scalars, and for maps three levels down (a strategy's phases, a preset's sizes). */
function flowAt(path: readonly unknown[], node: Node): boolean {
  if (isSeq(node)) return node.items.every((i) => isScalar(i));
  return isMap(node) && path.filter((p) => isPair(p)).length >= 3;
}

/** The YAML text of a suite file for `s`, under a comment `header` (lines without '#'). */
export function suiteYaml(s: Suite, header: string[] = []): string {
  // Shared objects (costly's cost matrix) written out at each use, not as YAML anchors and aliases.
  const doc = new Document(suiteToFile(s), { aliasDuplicateObjects: false });
  visit(doc, {
    Map(_k, node, path) { if (flowAt(path, node)) node.flow = true; },
    Seq(_k, node, path) { if (flowAt(path, node)) node.flow = true; },
  });
  const body = doc.toString({ lineWidth: 0 });
  return [...header.map((l) => (l ? `# ${l}`.trimEnd() : '#')), ...(header.length ? [''] : []), body.trimEnd(), ''].join('\n');
}
