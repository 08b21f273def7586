// The data of the edge phase's tasks: training and test examples of each task, tokenized with the
// model's vocabulary, the head each task trains, and how its batches are collated (the trainer's
// Collator: [CLS] text [SEP] + a label per row; word pieces + first-sub-token labels; n anchors
// then their n positives for in-batch negatives).
//
// The sentence-embedding task 'wn_gloss_pairs' is the few-labels suite's sentence-encoder data
// (fewshot/make_st.ts): a WordNet synset's headwords ↔ its gloss, for the synsets of wn_topic's
// train split, minus any gloss that is a dev/test text of a shipped dataset; the 5 % held out by
// a hash of the synset id are its test set (retrieval: each headword list finds its gloss among
// all held-out glosses; main score Recall@1).
import { DATASETS } from '@tunebench/datasets';
import { Collator, loadRows, tokenizeRows, type Example, type HeadSpec, type TaskKind, type WordPieceTokenizer } from '@tunebench/trainer';
import { mineGlossPairs } from '../fewshot/make_st.js';
import { GLOSS_PAIRS, type EdgeTask } from './config.js';
import { NER_LABELS } from '../suites/ner.js';

export interface TaskData {
  task: EdgeTask;
  head: HeadSpec;
  labels: string[];
  train: Example[];
  test: Example[];
  collator: Collator;
  /** The metric of the evaluator's output that is this task's score, and the key it is recorded under. */
  metric: string;
  scoreKey: string;
}

/** The task's metric (evaluateExamples' names) and its higher-is-better score key. */
const METRIC: Record<EdgeTask['kind'], string> = { seq_cls: 'accuracy', token_cls: 'strict_f1', embedding: 'recall_at_1' };

export { GLOSS_PAIRS };

export function loadTask(task: EdgeTask, tok: WordPieceTokenizer, o: { maxLength: number; maxTrainRows: number; maxEvalRows: number }, where: string): TaskData {
  const cap = <T>(rows: T[], n: number) => (n > 0 ? rows.slice(0, n) : rows);
  const kind: TaskKind = task.kind;
  let labels: string[] = [];
  let train: Example[], test: Example[];
  if (task.kind === 'embedding') {
    if (task.dataset !== GLOSS_PAIRS) throw new Error(`${where}: the embedding task's dataset must be '${GLOSS_PAIRS}' (got '${task.dataset}')`);
    const { train: tr, heldout } = mineGlossPairs();
    const rows = (ps: typeof tr) => ps.map((p) => ({ id: p.id, en: p.en, zh: p.zh }));
    train = tokenizeRows(cap(rows(tr), o.maxTrainRows), tok, 'embedding', [], o.maxLength, { source: GLOSS_PAIRS });
    test = tokenizeRows(cap(rows(heldout), o.maxEvalRows), tok, 'embedding', [], o.maxLength, { source: GLOSS_PAIRS });
  } else {
    const info = DATASETS[task.dataset];
    const want = task.kind === 'seq_cls' ? 'classification' : 'ner';
    if (!info) throw new Error(`${where}: unknown dataset '${task.dataset}' for task '${task.name}'`);
    if (info.kind !== want) throw new Error(`${where}: task '${task.name}' (${task.kind}) needs a ${want} dataset; ${task.dataset} holds ${info.kind} rows`);
    // NER: the ner suite's full tag set (fixed, so a capped training split cannot lose a tag the test split uses).
    labels = task.kind === 'token_cls' ? [...(info.labels ?? NER_LABELS)] : [...(info.labels ?? [])];
    if (labels.length < 2) throw new Error(`${where}: dataset ${task.dataset} declares no closed label set`);
    train = tokenizeRows(loadRows(task.dataset, 'train', kind, o.maxTrainRows), tok, kind, labels, o.maxLength, { source: task.dataset });
    test = tokenizeRows(loadRows(task.dataset, 'test', kind, o.maxEvalRows), tok, kind, labels, o.maxLength, { source: task.dataset });
  }
  if (!train.length) throw new Error(`${where}: task '${task.name}' has no training rows`);
  if (!test.length) throw new Error(`${where}: task '${task.name}' has no test rows`);
  const head: HeadSpec = task.kind === 'seq_cls'
    ? { kind: 'seq_cls', numLabels: labels.length, pooling: 'cls' }
    : task.kind === 'token_cls' ? { kind: 'token_cls', numLabels: labels.length } : { kind: 'embedding', normalize: true };
  return { task, head, labels, train, test, collator: new Collator(tok, kind), metric: METRIC[task.kind], scoreKey: `${task.name}_${METRIC[task.kind]}` };
}
