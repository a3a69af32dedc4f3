package dev.graft.cli;

import ai.djl.ndarray.NDManager;
import dev.graft.bench.EngineRate;
import dev.graft.bench.ModelFlops;
import dev.graft.model.LlamaConfig;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The machine's limits for one model, measured through the engine in the run whose phases are
 * compared with them: the fp32 GEMM rate at a large square, at the model's own matrices for a
 * pass over {@code tokens} rows (training, scoring), and at the decode shapes of batch 1 and 8
 * (the small-batch GEMV rate a sampler is held to); and the memory bandwidth of a large copy
 * (what weight sync is held to).
 *
 * @param modelShapes GFLOP/s of each matrix of the model at {@code tokens} rows
 */
record MachineLimits(int square, double squareGflops, long tokens, double modelGflops,
    Map<String, Double> modelShapes, double decode1Gflops, double decode8Gflops, long copyBytes,
    double copyGbPerSecond, EngineThreads threads) {

  /** Sizes for a full measurement, and for a smoke run. */
  record Sizes(int square, double secondsPerShape, long copyBytes) {
    static final Sizes FULL = new Sizes(2048, 0.3, 256L << 20);
    static final Sizes QUICK = new Sizes(128, 0.005, 4L << 20);
  }

  static MachineLimits measure(LlamaConfig c, long tokens, Sizes sizes) {
    try (NDManager m = NDManager.newBaseManager()) {
      EngineRate rate = new EngineRate(m, sizes.secondsPerShape(), System::nanoTime);
      double square = rate.gemm(sizes.square(), sizes.square(), sizes.square());
      Map<String, Double> shapes = new LinkedHashMap<>();
      double model = rate.modelRate(ModelFlops.matmuls(c), tokens, shapes);
      double decode1 = rate.modelRate(ModelFlops.matmuls(c), 1, new LinkedHashMap<>());
      double decode8 = rate.modelRate(ModelFlops.matmuls(c), 8, new LinkedHashMap<>());
      double copy = rate.copyBandwidth(sizes.copyBytes());
      return new MachineLimits(sizes.square(), square, tokens, model, shapes, decode1, decode8,
          sizes.copyBytes(), copy, EngineThreads.plan(1, Runtime.getRuntime().availableProcessors(),
              System::getProperty, System.getenv()));
    }
  }

  Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("gemm_square_" + square + "_gflops", squareGflops);
    m.put("gemm_model_shapes_tokens", tokens);
    m.put("gemm_model_shapes_gflops", modelGflops);
    m.put("gemm_model_shapes_each_gflops", modelShapes);
    m.put("gemv_decode_batch1_gflops", decode1Gflops);
    m.put("gemv_decode_batch8_gflops", decode8Gflops);
    m.put("copy_bytes", copyBytes);
    m.put("copy_gb_per_second", copyGbPerSecond);
    m.put("engine_threads", threads.describe());
    return m;
  }
}
