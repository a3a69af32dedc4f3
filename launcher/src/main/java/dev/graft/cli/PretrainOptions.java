package dev.graft.cli;

import dev.graft.model.LlamaConfig;
import dev.graft.trainer.pretrain.BaseModelJob;
import dev.graft.trainer.pretrain.PretrainConfig;
import java.util.function.Function;
import picocli.CommandLine.Option;

/** Settings of the base-model recipe; the defaults are the embedded base model. */
final class PretrainOptions {

  @Option(names = "--preset", defaultValue = "small", paramLabel = "NAME",
      description = "Architecture: small (4 layers, d=256, 8 heads; the embedded base model), small-mqa (small with one KV head: multi-query attention) or tiny (2 layers, d=64; seconds). Default: ${DEFAULT-VALUE}.")
  String preset = "small";

  @Option(names = "--kv-heads", paramLabel = "N",
      description = "Key/value heads on top of --preset (a divisor of its 8 attention heads for small): 8 is MHA,"
          + " 1 MQA, between them GQA. Default: the preset's.")
  Integer kvHeads;

  @Option(names = "--vocab-size", paramLabel = "N", defaultValue = "4096",
      description = "BPE vocabulary when a tokenizer is trained. Default: ${DEFAULT-VALUE}.")
  int vocabSize = 4096;

  @Option(names = "--steps", paramLabel = "N", description = "Optimizer steps (default: 1200).")
  Long steps;

  @Option(names = "--batch-size", paramLabel = "N", description = "Sequences per step (default: 16).")
  Integer batchSize;

  @Option(names = "--micro-batch", paramLabel = "N",
      description = "Sequences per forward/backward; gradients accumulate (default: batch size).")
  Integer microBatch;

  @Option(names = "--seq-len", paramLabel = "N", description = "Tokens per sequence (default: 128).")
  Integer seqLen;

  @Option(names = "--lr", paramLabel = "LR", description = "Peak learning rate (default: 2e-3).")
  Double lr;

  @Option(names = "--warmup", paramLabel = "N", description = "Warmup steps (default: 100, capped at --steps).")
  Long warmup;

  @Option(names = "--eval-every", paramLabel = "N",
      description = "Steps between validation passes, 0 for end only (default: 200).")
  Long evalEvery;

  @Option(names = "--checkpoint-every", paramLabel = "N",
      description = "Steps between checkpoints, 0 for end only (default: 200).")
  Long checkpointEvery;

  @Option(names = "--validation-fraction", paramLabel = "FRACTION", defaultValue = "0.05",
      description = "Fraction of documents held out for validation. Default: ${DEFAULT-VALUE}.")
  double validationFraction = 0.05;

  PretrainConfig config() {
    PretrainConfig c = PretrainConfig.defaults();
    if (steps != null) {
      c = c.withSteps(steps);
    }
    if (batchSize != null || microBatch != null) {
      int b = batchSize != null ? batchSize : c.batchSize();
      c = c.withBatch(b, microBatch != null ? microBatch : b);
    }
    if (seqLen != null) {
      c = c.withSeqLen(seqLen);
    }
    if (lr != null || warmup != null) {
      c = c.withLr(lr != null ? lr : c.lr(), warmup != null ? warmup : c.warmupSteps());
    }
    if (evalEvery != null || checkpointEvery != null) {
      c = c.withIntervals(evalEvery != null ? evalEvery : c.evalEvery(), c.evalSequences(),
          checkpointEvery != null ? checkpointEvery : c.checkpointEvery());
    }
    return c;
  }

  Function<Integer, LlamaConfig> architecture(int seqLen) {
    Function<Integer, LlamaConfig> base = switch (preset) {
      case "small" -> LlamaConfig::small;
      case "small-mqa" -> vocab -> LlamaConfig.small(vocab).withNumKeyValueHeads(1);
      case "tiny" -> LlamaConfig::tiny;
      default -> throw new IllegalArgumentException(
          "unknown --preset '" + preset + "' (expected small, small-mqa or tiny)");
    };
    if (kvHeads != null) {
      withKvHeads(base.apply(vocabSize), kvHeads); // refused here, before any data is read
    }
    return vocab -> {
      LlamaConfig c = base.apply(vocab);
      if (kvHeads != null) {
        c = withKvHeads(c, kvHeads);
      }
      return seqLen > c.maxPositionEmbeddings() ? c.withMaxPositionEmbeddings(seqLen) : c;
    };
  }

  /** {@code c} with {@code kv} key/value heads; the message names the option and the preset's heads. */
  static LlamaConfig withKvHeads(LlamaConfig c, int kv) {
    if (kv < 1 || c.numAttentionHeads() % kv != 0) {
      throw new IllegalArgumentException("--kv-heads (" + kv + ") must be a divisor of the preset's "
          + c.numAttentionHeads() + " attention heads");
    }
    return c.withNumKeyValueHeads(kv);
  }

  BaseModelJob job() {
    PretrainConfig c = config();
    return new BaseModelJob(vocabSize, architecture(c.seqLen()), c, validationFraction);
  }

  /** Cache key of the model these settings produce. */
  String modelName(String corpus) {
    return "base-" + preset + (kvHeads == null ? "" : "-kv" + kvHeads) + "-" + corpus;
  }
}
