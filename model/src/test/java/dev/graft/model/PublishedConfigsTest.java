package dev.graft.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * Published Llama-family configs load with every value as published, and their test-size
 * reductions (real vocabulary, rope, head_dim, head ratio; random weights) compute what the
 * double-precision reference {@link ReferenceLlama} computes.
 */
class PublishedConfigsTest {

  /**
   * Largest |model − reference| allowed on a logit. The model runs in fp32 (unit roundoff
   * 2⁻²⁴ ≈ 6e-8) through ~10 chained sums of up to 512 terms; measured: about 3e-6 on the untied
   * fixtures (logits up to ~5) and 4e-5 on the tied ones (embedding ~ N(0, 1) as head, logits up
   * to ~105). 2e-4 keeps a margin of five over the worst while staying well below what a wrong term
   * changes: ignoring the rope scaling alone moves the logits by 6e-3 (Llama 3.1, factor 8) to 1.5
   * (linear, factor 4) at these 16 positions, checked below against 10× the tolerance.
   */
  private static final double TOLERANCE = 2e-4;
  private static final int T = 16;
  private static NDManager manager;

  @BeforeAll
  static void setUp() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  @Test
  void llama32_1b_readsAsPublished() {
    LlamaConfig c = PublishedConfigs.config(PublishedConfigs.LLAMA_3_2_1B);
    assertEquals(new LlamaConfig(128256, 2048, 8192, 16, 32, 8, 64, 131072, 1e-5, 500000.0,
        new RopeScaling.Llama3(32, 1, 4, 8192), false, false, true, 128000, List.of(128001)), c);
    assertEquals(1_235_814_400L, c.parameterCount()); // the published 1.24B (tied)
    assertEquals(2L * 16 * 8 * 64 * 2, c.kvCacheBytesPerToken(2));
  }

  @Test
  void tinyLlama_readsAsPublished() {
    LlamaConfig c = PublishedConfigs.config(PublishedConfigs.TINYLLAMA_1_1B);
    assertEquals(new LlamaConfig(32000, 2048, 5632, 22, 32, 4, 64, 2048, 1e-5, 10000.0,
        RopeScaling.NONE, false, false, false, 1, List.of(2)), c);
    assertEquals(1_100_048_384L, c.parameterCount());
  }

  @Test
  void smolLm2_135m_readsAsPublished() {
    LlamaConfig c = PublishedConfigs.config(PublishedConfigs.SMOLLM2_135M);
    assertEquals(new LlamaConfig(49152, 576, 1536, 30, 9, 3, 64, 8192, 1e-5, 100000.0,
        RopeScaling.NONE, false, false, true, 0, List.of(0)), c);
    assertEquals(134_515_008L, c.parameterCount());
  }

  @Test
  void llama2_7b_readsAsPublished_withDefaultRopeTheta() {
    LlamaConfig c = PublishedConfigs.config(PublishedConfigs.LLAMA_2_7B);
    assertEquals(new LlamaConfig(32000, 4096, 11008, 32, 32, 32, 128, 4096, 1e-5, 10000.0,
        RopeScaling.NONE, false, false, false, 1, List.of(2)), c);
    assertEquals(6_738_415_616L, c.parameterCount());
  }

  @Test
  void llama31_8bInstruct_keepsEveryEndOfSequenceId() {
    LlamaConfig c = PublishedConfigs.config(PublishedConfigs.LLAMA_3_1_8B_INSTRUCT);
    assertEquals(List.of(128001, 128008, 128009), c.eosTokenIds());
    assertEquals(128001, c.eosTokenId());
    assertEquals(new RopeScaling.Llama3(8, 1, 4, 8192), c.ropeScaling());
    assertEquals(8_030_261_248L, c.parameterCount());
  }

  @Test
  void syntheticBiasedLinear_readsBiasesHeadDimAndLegacyType() {
    LlamaConfig c = PublishedConfigs.config(PublishedConfigs.SYNTHETIC_BIASED_LINEAR);
    assertEquals(new LlamaConfig(5000, 1024, 2816, 4, 8, 2, 96, 1024, 1e-6, 10000.0,
        new RopeScaling.Linear(4), true, true, false, 1, List.of(2, 7)), c);
    Map<String, List<Long>> shapes = c.tensorShapes();
    assertEquals(List.of(768L, 1024L), shapes.get("model.layers.0.self_attn.q_proj.weight"));
    assertEquals(List.of(768L), shapes.get("model.layers.0.self_attn.q_proj.bias"));
    assertEquals(List.of(192L), shapes.get("model.layers.3.self_attn.v_proj.bias"));
    assertEquals(List.of(1024L, 768L), shapes.get("model.layers.0.self_attn.o_proj.weight"));
    assertEquals(List.of(1024L), shapes.get("model.layers.0.self_attn.o_proj.bias"));
    assertEquals(List.of(2816L), shapes.get("model.layers.0.mlp.up_proj.bias"));
    assertEquals(List.of(1024L), shapes.get("model.layers.0.mlp.down_proj.bias"));
    long perLayer = 2 * 768L * 1024 + 768 + 1024 + 2 * (192L * 1024 + 192)
        + 3 * 2816L * 1024 + 2 * 2816 + 1024 + 2 * 1024;
    assertEquals(2 * 5000L * 1024 + 4 * perLayer + 1024, c.parameterCount());
  }

  @ParameterizedTest(name = "{0}")
  @FieldSource("dev.graft.model.PublishedConfigs#ALL")
  void everyFixture_writesAndReadsBackTheSameConfig(String name) {
    LlamaConfig c = PublishedConfigs.config(name);
    assertEquals(c, LlamaConfig.fromJson(c.toJson()));
    LlamaConfig reduced = PublishedConfigs.reduce(c);
    assertEquals(reduced, LlamaConfig.fromJson(reduced.toJson()));
  }

  @ParameterizedTest(name = "{0}")
  @FieldSource("dev.graft.model.PublishedConfigs#ALL")
  void reducedFixture_matchesTheDoublePrecisionReference(String name) {
    LlamaConfig full = PublishedConfigs.config(name);
    LlamaConfig cfg = PublishedConfigs.reduce(full);
    assertEquals(full.headDim(), cfg.headDim());
    assertEquals(full.groupSize(), cfg.groupSize());
    assertEquals(full.vocabSize(), cfg.vocabSize());
    Map<String, float[]> w = PublishedConfigs.randomWeights(cfg, 11);
    long[] ids = ids(cfg.vocabSize(), 3);
    try (NDManager m = manager.newSubManager();
        LlamaModel model = PublishedConfigs.model(cfg, w, m)) {
      float[] got = model.forward(m.create(ids, new Shape(1, T))).toFloatArray();
      double[][] want = ReferenceLlama.logits(cfg, w, ids);
      double err = maxDiff(want, got, cfg.vocabSize());
      double scale = maxAbs(want);
      assertTrue(scale > 1, "logits must not be trivially small: " + scale);
      assertTrue(err < TOLERANCE, name + ": max |model - reference| = " + err + " on logits up to " + scale);
      if (!(cfg.ropeScaling() instanceof RopeScaling.None)) {
        // The check sees the scaling: the reference without it is far from the model.
        double[][] plain = ReferenceLlama.logits(cfg.withRopeScaling(RopeScaling.NONE), w, ids);
        double off = maxDiff(plain, got, cfg.vocabSize());
        assertTrue(off > 10 * TOLERANCE, name + ": ignoring rope_scaling moves logits by only " + off);
      }
    }
  }

  @Test
  void llama3InverseFrequencies_matchValuesDerivedByHand_onEachSideOfBothWavelengthThresholds() {
    // Llama 3.2 1B: inv_i = 500000^(-2i/64), wavelength 2π/inv_i; kept below 8192/4 = 2048,
    // divided by 32 above 8192/1 = 8192, else (1 − s)·inv/32 + s·inv with s = (8192/wavelength − 1)/3.
    LlamaConfig c = PublishedConfigs.config(PublishedConfigs.LLAMA_3_2_1B);
    float[] got = c.ropeScaling().inverseFrequencies(64, 500000.0, 64, c.maxPositionEmbeddings());
    double[][] byHand = {
        {0, 1.0}, // wavelength 6.28: high frequency, kept
        {13, 4.839421346e-03}, // wavelength 1298.3: kept
        {14, 3.211445995e-03}, // wavelength 1956.5: kept (just below 2048)
        {15, 1.290547928e-03}, // wavelength 2948.3: s = 0.592849 (just above 2048)
        {16, 4.295567966e-04}, // wavelength 4442.9: s = 0.281283
        {17, 9.708287803e-05}, // wavelength 6695.1: s = 0.074527 (just below 8192)
        {18, 1.946163818e-05}, // wavelength 10089.1: 6.227724219e-04 / 32 (just above 8192)
        {19, 1.291476719e-05}, // wavelength 15203.5: 4.132725500e-04 / 32
        {31, 9.418306725e-08}}; // 3.013858152e-06 / 32
    for (double[] e : byHand) {
      int i = (int) e[0];
      assertEquals(e[1], got[i], e[1] * 2e-6, "inverse frequency " + i);
    }
    assertEquals(32, got.length);
    double[] reference = ReferenceLlama.inverseFrequencies(c);
    for (int i = 0; i < got.length; i++) {
      assertEquals(reference[i], got[i], reference[i] * 2e-6, "inverse frequency " + i + " against the reference");
    }
  }

  @Test
  void linearAndDynamicInverseFrequencies_matchValuesDerivedByHand() {
    float[] linear = new RopeScaling.Linear(4).inverseFrequencies(8, 10000.0, 10, 100);
    assertEquals(1e-1 / 4, linear[1], 1e-8); // 10000^(-2/8) = 0.1
    assertEquals(1e-3 / 4, linear[3], 1e-10);
    RopeScaling dynamic = new RopeScaling.Dynamic(2);
    float[] within = dynamic.inverseFrequencies(8, 10000.0, 100, 100);
    assertEquals(1e-1, within[1], 1e-8, "up to max_position_embeddings the frequencies are plain");
    // Beyond: theta' = 10000·(2·200/100 − 1)^(8/6) = 10000·3^(4/3), inv_3 = theta'^(-3/4) = 1e-3 / 3.
    float[] beyond = dynamic.inverseFrequencies(8, 10000.0, 200, 100);
    assertEquals(1e-3 / 3, beyond[3], 1e-3 / 3 * 2e-6);
    assertEquals(6.933612744e-02, beyond[1], 6.933612744e-02 * 2e-6);
  }

  private static long[] ids(int vocab, long seed) {
    Random rng = new Random(seed);
    long[] ids = new long[T];
    for (int i = 0; i < T; i++) {
      ids[i] = rng.nextInt(vocab);
    }
    ids[T - 1] = vocab - 1; // the last row of the embedding is read too
    return ids;
  }

  private static double maxDiff(double[][] want, float[] got, int vocab) {
    double worst = 0;
    for (int i = 0; i < want.length; i++) {
      for (int v = 0; v < vocab; v++) {
        worst = Math.max(worst, Math.abs(want[i][v] - got[i * vocab + v]));
      }
    }
    return worst;
  }

  private static double maxAbs(double[][] a) {
    double m = 0;
    for (double[] row : a) {
      for (double x : row) {
        m = Math.max(m, Math.abs(x));
      }
    }
    return m;
  }
}
