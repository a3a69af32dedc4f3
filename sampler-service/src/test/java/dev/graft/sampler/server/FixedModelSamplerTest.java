package dev.graft.sampler.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.graft.checkpoint.Dtype;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.model.LlamaModel;
import dev.graft.model.ModelFingerprint;
import dev.graft.proto.v1.GenerateRequest;
import dev.graft.proto.v1.GetSamplerInfoRequest;
import dev.graft.proto.v1.SamplerServiceGrpc;
import dev.graft.sampler.ModelMismatchException;
import dev.graft.sampler.Rollout;
import dev.graft.sampler.SamplerClient;
import dev.graft.sampler.SamplerProtos;
import dev.graft.sampler.SamplingParams;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sampler serving a fixed checkpoint (the teacher, for sequence-level distillation): what it
 * generates is the checkpoint's own continuation, it names the model by the teacher-service's
 * fingerprint, and it refuses requests for another model.
 */
class FixedModelSamplerTest {

  @TempDir
  Path dir;
  private FixedModelSampler sampler;
  private ManagedChannel channel;
  private String expectedFingerprint;

  @BeforeEach
  void start() throws Exception {
    try (NDManager m = NDManager.newBaseManager()) {
      Map<String, NDArray> tensors = new LinkedHashMap<>();
      TestPolicies.update(0, 21).tensors().forEach((name, values) -> tensors.put(name,
          m.create(values, new Shape(TestPolicies.CONFIG.tensorShapes().get(name).stream()
              .mapToLong(Long::longValue).toArray()))));
      HfCheckpoint.save(dir, TestPolicies.CONFIG, tensors, Dtype.F32, Long.MAX_VALUE);
      expectedFingerprint = ModelFingerprint.of(TestPolicies.CONFIG, tensors);
    }
    sampler = FixedModelSampler.start(SamplerServer.builder().port(0).slots(2).maxNewTokensLimit(32)
        .shutdownGrace(Duration.ofMillis(100)), dir);
    channel = Grpc.newChannelBuilder("localhost:" + sampler.port(), InsecureChannelCredentials.create()).build();
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    sampler.close();
  }

  @Test
  void greedyContinuations_areTheCheckpointsOwn_asAFullRecomputeGivesThem() throws Exception {
    List<int[]> prompts = TestPolicies.prompts(5, 3, 9, 1);
    SamplingParams greedy = new SamplingParams(0f, 1f, 0, 12, new int[0], 99);
    List<Rollout> served;
    try (SamplerClient client = SamplerClient.connect(List.of("localhost:" + sampler.port()))) {
      served = client.generate(prompts, greedy, expectedFingerprint);
    }
    try (NDManager m = NDManager.newBaseManager();
        LlamaModel model = LlamaModel.fromTensors(TestPolicies.CONFIG, m, HfCheckpoint.load(dir, m).tensors())) {
      for (int i = 0; i < prompts.size(); i++) {
        assertArrayEquals(greedyByRecompute(model, prompts.get(i), 12), served.get(i).tokens(), "prompt " + i);
        assertEquals(0, served.get(i).policyVersion());
        assertEquals(0, served.get(i).policyEpoch());
      }
    }
  }

  /** Argmax (ties to the lower id) of a full forward pass over the whole sequence, one token at a time. */
  private static int[] greedyByRecompute(LlamaModel model, int[] prompt, int n) {
    int[] seq = java.util.Arrays.copyOf(prompt, prompt.length + n);
    for (int len = prompt.length; len < prompt.length + n; len++) {
      try (NDManager m = model.manager().newSubManager()) {
        long[] ids = new long[len];
        for (int j = 0; j < len; j++) {
          ids[j] = seq[j];
        }
        float[] last = model.forward(m.create(ids, new Shape(1, len))).get(0, len - 1).toFloatArray();
        int best = 0;
        for (int v = 1; v < last.length; v++) {
          if (last[v] > last[best]) {
            best = v;
          }
        }
        seq[len] = best;
      }
    }
    return java.util.Arrays.copyOfRange(seq, prompt.length, seq.length);
  }

  @Test
  void getInfo_namesTheModelByTheTeacherServicesFingerprint() {
    var info = SamplerServiceGrpc.newBlockingStub(channel).getInfo(GetSamplerInfoRequest.getDefaultInstance());
    assertEquals(expectedFingerprint, info.getModelFingerprint());
    assertEquals(expectedFingerprint, sampler.fingerprint());
    assertEquals(0, info.getPolicyVersion());
    assertEquals(TestPolicies.CONFIG.vocabSize(), info.getVocabSize());
  }

  @Test
  void aRequestForAnotherModel_isFailedPrecondition_namingBoth_andTheClientDoesNotRetryIt() {
    GenerateRequest request = SamplerProtos.encode(TestPolicies.prompts(1, 4), TestPolicies.sampling(0f, 1f, 0, 4, 0))
        .toBuilder().setModelFingerprint("0badc0de").build();
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> SamplerServiceGrpc.newBlockingStub(channel).generate(request).forEachRemaining(c -> { }));
    assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
    assertEquals("the request asks for model 0badc0de but this sampler serves model " + expectedFingerprint,
        e.getStatus().getDescription());
    try (SamplerClient client = SamplerClient.connect(List.of("localhost:" + sampler.port()))) {
      ModelMismatchException m = assertThrows(ModelMismatchException.class, () -> client.generate(
          TestPolicies.prompts(1, 4), TestPolicies.sampling(0f, 1f, 0, 4, 0), "0badc0de"));
      assertTrue(m.getMessage().endsWith("serves model " + expectedFingerprint), m.getMessage());
    }
  }

  @Test
  void aBadRequest_isInvalidArgument_evenWithTheRightModel() {
    GenerateRequest request = SamplerProtos.encode(List.of(new int[] {1, TestPolicies.CONFIG.vocabSize()}),
        TestPolicies.sampling(0f, 1f, 0, 4, 0)).toBuilder().setModelFingerprint(expectedFingerprint).build();
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> SamplerServiceGrpc.newBlockingStub(channel).generate(request).forEachRemaining(c -> { }));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("prompt 0 token 1 has id 64"), e.getStatus().getDescription());
  }

  @Test
  void aSamplerFollowingATrainer_refusesARequestPinnedToAModel() throws Exception {
    try (PolicyHolder holder = TestPolicies.holder(3, 7);
        SamplerServer follower = SamplerServer.builder().policies(holder).port(0).build().start();
        SamplerClient client = SamplerClient.connect(List.of("localhost:" + follower.port()))) {
      assertEquals("", client.info().modelFingerprint());
      ModelMismatchException e = assertThrows(ModelMismatchException.class, () -> client.generate(
          TestPolicies.prompts(1, 4), TestPolicies.sampling(0f, 1f, 0, 4, 0), expectedFingerprint));
      assertTrue(e.getMessage().contains("follows a trainer's policy versions"), e.getMessage());
    }
  }
}
