// EngramFeatures: the feature-program language (lag, diff, sub, win at orders 0..2), its
// canonical names, streaming evaluation, and the CSV reader that feeds it.
