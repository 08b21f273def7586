// @tunebench/eval: metrics with scikit-learn's and seqeval's definitions, confidence intervals
// and significance tests. Pure TypeScript, no GPU.

export { type Label, uniqueLabels } from './check.js';
export {
  accuracy, confusionMatrix, perClassScores, precisionRecallF1, classificationReport, matthewsCorrcoef,
  type Average, type AverageOptions, type ClassificationReport, type ClassPrf, type ConfusionMatrix,
  type LabelOptions, type Prf, type PrfOptions, type ZeroDivision,
} from './classification.js';
export {
  rocAucScore, averagePrecisionScore, precisionRecallCurve, rankAverage,
  type AveragePrecisionOptions, type PrCurve, type RocAucOptions,
} from './ranking.js';
export { argmax, calibration, expectedCalibrationError, type Calibration, type CalibrationBin } from './calibration.js';
export {
  recallOfClass, expectedCost, minimumCostDecisions, metricsAtThreshold, thresholdForRecall, predictWithThreshold, costByThreshold, thresholdForMinCost,
  type BinaryCounts, type ThresholdChoice, type CostThresholdChoice,
} from './costly.js';
export { MISSED, nerConfusion, nerScores, sentenceEntities, SPURIOUS, type Entity, type NerMode, type NerScheme, type NerScores, type NerTypeScores } from './ner.js';
export { recallAtK, mrr, ndcgAtK, rankDocuments, type Relevance } from './retrieval.js';
export { mlmScores, mlmAccuracy, perplexity, unigramScores, type MlmScores } from './mlm.js';
export { tokenizationStats, type TokenizationStats } from './tokenization.js';
export {
  meanStd, percentile, bootstrapCi, pairedBootstrap, permutationTest,
  type BootstrapCi, type CiOptions, type MeanStd, type PairedBootstrapResult, type PairedResult,
  type ResampleOptions, type Statistic,
} from './stats.js';
export { mannWhitneyU, mannWhitneyCounts, type Alternative, type MannWhitneyOptions, type MannWhitneyResult } from './mannwhitney.js';
export { erfc, normalSf } from './normal.js';
export { lnGamma, incompleteBeta, studentTCdf, studentTTwoSided, studentTQuantile } from './student_t.js';
export { mulberry32 } from './rng.js';
export { toRows } from './rows.js';
export { smote, tomekLinks, tomekClean, kNearestNeighbors, type SmoteOptions, type SmoteResult } from './resampling.js';
export {
  stratifiedPairedBootstrap, accuracyOf, macroF1Of, meanCostOf, spanF1Of, binomCdf, binomTestHalf, mcnemarExact, discordant, holm,
  minimumDetectableDifference, Z_975, Z_80,
  type SubsetMetric, type SeedPair, type StratifiedBootstrapResult, type McNemarResult,
} from './paired.js';
