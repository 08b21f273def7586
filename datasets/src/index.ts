// @tunebench/datasets: typed, validated access to the shipped JSONL datasets and resources.
export { loadJsonl, loadDataset, parseJsonl, decodeUtf8, firstInvalidUtf8, datasetPath, DatasetError, DATASETS_DIR, type LoadOptions } from './loader.js';
export { rowProblem, SCHEMAS, ROW_KINDS, type RowKind, type RowOf, type ClassificationRow, type NerRow, type PairRow, type CorpusRow } from './schema.js';
export {
  DATASETS, DATASET_NAMES, SHIPPED_DATASET_DIRS, SPLIT_FILES, shippedDatasetInfo, fileFor, emailBinaryLabel, NER_TAGS, NER_TYPES,
  WN_TOPIC_LABELS, EMAIL_LABELS, ZH_POETRY_LABELS, URGENCY_LABELS, type DatasetInfo,
} from './registry.js';
export { verifyManifest, readManifest, MANIFEST_FILE, type Manifest, type VerifyReport } from './manifest.js';
export { loadSynonyms, jiebaDictPath, SYNONYMS_PATH } from './resources.js';
export { normalise, textKey, splitOf, type Split, SPLITS } from './text.js';
export {
  loadDatasetDir, isDatasetDir, readCard, carveDev, datasetDirHash, CARD_SCHEMA, CARD_FILES, DIR_KINDS, ROW_KIND_OF,
  type LoadedDir, type DatasetCard, type DirTaskKind, type DirFile, type DirRow,
} from './dirdata.js';
