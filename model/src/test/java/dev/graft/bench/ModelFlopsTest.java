package dev.graft.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.graft.model.LlamaConfig;
import org.junit.jupiter.api.Test;

class ModelFlopsTest {

  @Test
  void defaultModel_forwardIsTwicePerMatrixParameter_8point4MflopPerToken() {
    LlamaConfig c = LlamaConfig.small(4096);
    // per layer 4·256² (attention) + 3·256·688 (SwiGLU); 4 layers; the tied head 4096·256
    long params = 4 * (4L * 256 * 256 + 3L * 256 * 688) + 4096L * 256;
    assertEquals(2 * params, ModelFlops.matmulPerToken(c));
    assertEquals(8_421_376L, ModelFlops.matmulPerToken(c));
    // Every parameter but the norms' multiplies each token once (the embedding as the tied head).
    long norms = 2L * 4 * 256 + 256;
    assertEquals(2 * (c.parameterCount() - norms), ModelFlops.matmulPerToken(c));
  }

  @Test
  void groupedHeads_countTheirSmallerKeyValueProjections() {
    LlamaConfig c = LlamaConfig.small(4096).withNumKeyValueHeads(2);
    long params = 4 * (2L * 256 * 256 + 2L * 64 * 256 + 3L * 256 * 688) + 4096L * 256;
    assertEquals(2 * params, ModelFlops.matmulPerToken(c));
  }

  @Test
  void attention_countsFourFlopsPerHeadDimPerVisibleKey_causallyAveraged() {
    LlamaConfig c = LlamaConfig.small(4096);
    assertEquals(4L * 4 * 8 * 32 * 10, ModelFlops.attentionPerQuery(c, 10));
    // 2 sequences of 3 tokens: queries see 1, 2, 3 keys (mean 2).
    double want = 6 * (8_421_376.0 + 4 * 4 * 8 * 32 * 2);
    assertEquals(want, ModelFlops.forward(c, 2, 3), 1e-6);
    assertEquals(3 * want, ModelFlops.trainingStep(c, 2, 3), 1e-6);
    // prompt 4, 2 new tokens: they see 5 and 6 keys (mean 5.5)
    assertEquals(3 * 2 * (8_421_376.0 + 4 * 4 * 8 * 32 * 5.5), ModelFlops.decode(c, 3, 4, 2), 1e-6);
  }
}
