package dev.graft.trainer.distill;

/**
 * What a run trained on the teacher's continuations ({@code seqkd}).
 *
 * @param rows teacher rows trained on
 * @param tokens their continuation positions (trained targets)
 * @param waitSeconds time the batch pipeline waited for their generation (part of the training
 *     thread's wait only when the pipeline itself fell behind)
 */
public record SeqKdStats(long rows, long tokens, double waitSeconds) {}
