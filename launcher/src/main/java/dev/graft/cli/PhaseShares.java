package dev.graft.cli;

import dev.graft.bench.ModelFlops;
import dev.graft.model.LlamaConfig;
import dev.graft.sampler.server.SamplerBench;
import dev.graft.sync.bench.WeightSyncBench;
import dev.graft.teacher.server.TeacherBench;
import dev.graft.trainer.distill.DistillBench;
import dev.graft.trainer.pretrain.TrainStepBench;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Each phase's achieved rate as a share of the machine's limit measured in the same run: FLOP/s
 * (from {@link ModelFlops}) against the GEMM rate at the model's shapes, decoding against the
 * small-batch GEMV rate, weight sync's bytes per second against the copy bandwidth.
 */
final class PhaseShares {

  /**
   * One line of the table.
   *
   * @param achieved GFLOP/s, or GB/s for a copy-bound phase
   * @param limit the same unit, measured in this run
   * @param target what the project aims at, as text
   */
  record Row(String phase, String measure, double achieved, String unit, double limit, String limitName,
      String target) {
    double share() {
      return achieved / limit;
    }

    Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("phase", phase);
      m.put("measure", measure);
      m.put("achieved", achieved);
      m.put("unit", unit);
      m.put("limit", limit);
      m.put("limit_is", limitName);
      m.put("share_of_limit", share());
      m.put("target", target);
      return m;
    }
  }

  private final List<Row> rows = new ArrayList<>();
  private final MachineLimits limits;

  PhaseShares(MachineLimits limits) {
    this.limits = limits;
  }

  List<Row> rows() {
    return List.copyOf(rows);
  }

  PhaseShares pretrain(TrainStepBench.Result r) {
    rows.add(new Row("pretraining step", r.batch() + "x" + r.seqLen() + " tokens, fwd+bwd+AdamW",
        r.flops() / r.stepSeconds() / 1e9, "GFLOP/s", limits.modelGflops(), "GEMM at the model's shapes",
        ">= 65%"));
    return this;
  }

  /** A distillation step: the student's forward + backward and the teacher's forward, on this machine. */
  PhaseShares distill(DistillBench.Result r, LlamaConfig student, LlamaConfig teacher, int batch, int seqLen) {
    double flops = ModelFlops.trainingStep(student, batch, seqLen) + ModelFlops.forward(teacher, batch, seqLen);
    rows.add(new Row("distillation step", r.teacher() + ", student fwd+bwd + teacher fwd",
        flops / r.stepSeconds() / 1e9, "GFLOP/s", limits.modelGflops(), "GEMM at the model's shapes",
        ">= 65%"));
    return this;
  }

  PhaseShares teacher(TeacherBench.Result r, LlamaConfig c) {
    double perToken = ModelFlops.forward(c, 1, r.seq()) / r.seq();
    r.tokensPerSecond().forEach((kind, tps) -> rows.add(new Row("teacher scoring", kind + " (B " + r.batch()
        + ", T " + r.seq() + ")", perToken * tps / 1e9, "GFLOP/s", limits.modelGflops(),
        "GEMM at the model's shapes", kind.startsWith("grpc") ? ">= 0.9x in-process" : "top-k >= full")));
    return this;
  }

  PhaseShares sampler(SamplerBench.Result r, LlamaConfig c) {
    double perToken = ModelFlops.decode(c, 1, r.promptLength(), r.newTokens()) / r.newTokens();
    r.tokensPerSecond().forEach((key, tps) -> {
      if (key.startsWith("kv_cache/")) {
        int batch = Integer.parseInt(key.substring("kv_cache/batch".length()));
        double limit = batch >= 8 ? limits.decode8Gflops() : limits.decode1Gflops();
        rows.add(new Row("sampler decode", key + String.format(Locale.ROOT, " (%.0f tok/s)", tps),
            perToken * tps / 1e9, "GFLOP/s", limit, "GEMV at batch " + (batch >= 8 ? 8 : 1),
            batch == 1 ? ">= 1,000 tok/s" : "batch 8 >= 4x batch 1"));
      }
    });
    return this;
  }

  /** The sampler's ratios the targets name: KV cache over recomputation, batch 8 over batch 1. */
  static String samplerRatios(SamplerBench.Result r) {
    StringBuilder sb = new StringBuilder("sampler: KV cache / recomputation at " + r.newTokens() + " new tokens:");
    r.speedup().forEach((b, x) -> sb.append(String.format(Locale.ROOT, " %s %.1fx", b, x)));
    Double one = r.tokensPerSecond().get("kv_cache/batch1");
    Double eight = r.tokensPerSecond().get("kv_cache/batch8");
    if (one != null && eight != null) {
      sb.append(String.format(Locale.ROOT, "; batch 8 / batch 1: %.1fx", eight / one));
    }
    return sb.append(" (targets: >= 10x; >= 4x)").append(System.lineSeparator()).toString();
  }

  PhaseShares sync(WeightSyncBench.Result r) {
    rows.add(new Row("weight sync", r.bytes() + " bytes, publish -> installed",
        r.bytes() / (r.syncMillis() / 1e3) / 1e9, "GB/s", limits.copyGbPerSecond(), "memory copy", "-"));
    return this;
  }

  List<Map<String, Object>> toList() {
    return rows.stream().map(Row::toMap).toList();
  }

  /** The readable table. */
  String table() {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "%-18s %-46s %10s %10s %7s  %-28s %s%n", "phase", "measure", "achieved",
        "limit", "share", "limit is", "target"));
    for (Row r : rows) {
      sb.append(String.format(Locale.ROOT, "%-18s %-46s %10.2f %10.2f %6.0f%%  %-28s %s%n", r.phase(),
          r.measure(), r.achieved(), r.limit(), 100 * r.share(), r.limitName() + " (" + r.unit() + ")",
          r.target()));
    }
    return sb.toString();
  }

  /** The limits as lines of text. */
  static String limitsText(MachineLimits l) {
    return String.format(Locale.ROOT, "machine: GEMM %d^3 %.1f GFLOP/s; model shapes at %d tokens %.1f GFLOP/s;"
        + " decode GEMV batch 1 %.1f, batch 8 %.1f GFLOP/s; copy %.1f GB/s; %s%n", l.square(), l.squareGflops(),
        l.tokens(), l.modelGflops(), l.decode1Gflops(), l.decode8Gflops(), l.copyGbPerSecond(),
        l.threads().describe());
  }
}
