package dev.graft.sampler.server;

import static dev.graft.sampler.server.TestPolicies.prompts;
import static dev.graft.sampler.server.TestPolicies.sampling;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.GenerateRequest;
import dev.graft.proto.v1.GetSamplerInfoRequest;
import dev.graft.proto.v1.RolloutChunk;
import dev.graft.proto.v1.SamplerServiceGrpc;
import dev.graft.proto.v1.SamplingParameters;
import dev.graft.proto.v1.Tensor;
import dev.graft.sampler.Rollout;
import dev.graft.sampler.SamplerProtos;
import dev.graft.sampler.SamplingParams;
import dev.graft.service.Descriptions;
import dev.graft.service.LoggedFailures;
import dev.graft.service.WireTensors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Generate and GetInfo through a real loopback channel: answers and every error status. */
class SamplerServiceTest {

  private final PolicyHolder holder = TestPolicies.holder(1, 7);
  private SamplerServer server;
  private ManagedChannel channel;
  private SamplerServiceGrpc.SamplerServiceBlockingStub stub;

  @BeforeEach
  void start() throws Exception {
    server = SamplerServer.builder().policies(holder).slots(2).maxQueuedSequences(3)
        .maxNewTokensLimit(40).build().start();
    channel = Grpc.newChannelBuilder("localhost:" + server.port(),
        InsecureChannelCredentials.create()).build();
    stub = SamplerServiceGrpc.newBlockingStub(channel);
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.close();
    holder.close();
  }

  private static GenerateRequest request(List<int[]> prompts, SamplingParams params) {
    return SamplerProtos.encode(prompts, params);
  }

  private List<dev.graft.proto.v1.Rollout> call(GenerateRequest request) {
    List<dev.graft.proto.v1.Rollout> out = new ArrayList<>();
    Iterator<RolloutChunk> it = stub.generate(request);
    it.forEachRemaining(c -> out.addAll(c.getRolloutsList()));
    return out;
  }

  private Status.Code codeOf(GenerateRequest request) {
    return assertThrows(StatusRuntimeException.class, () -> call(request)).getStatus().getCode();
  }

  private GenerateRequest withParams(UnaryOperator<SamplingParameters.Builder> edit) {
    GenerateRequest ok = request(prompts(1, 4), sampling(1f, 1f, 0, 5, 0));
    return ok.toBuilder().setParams(edit.apply(ok.getParams().toBuilder())).build();
  }

  @Test
  void generate_streamsEveryRollout_matchingTheEngine() {
    List<int[]> p = prompts(2, 3, 8, 5);
    SamplingParams params = sampling(0.9f, 0.95f, 10, 12, 77);
    List<dev.graft.proto.v1.Rollout> got = call(request(p, params));
    List<Rollout> expected = server.engine().generate(p, params);
    assertEquals(3, got.size());
    for (dev.graft.proto.v1.Rollout r : got) {
      GenerationEngineTest.assertSameRollout(expected.get(r.getIndex()),
          SamplerProtos.decode(r, p.get(r.getIndex())), "prompt " + r.getIndex());
    }
  }

  @Test
  void getInfo_describesModelLimitsAndVersion() {
    var info = stub.getInfo(GetSamplerInfoRequest.getDefaultInstance());
    assertEquals(64, info.getVocabSize());
    assertEquals(128, info.getMaxSequenceLength());
    assertEquals(1, info.getPolicyVersion());
    assertEquals(2, info.getSlots());
    assertEquals(3, info.getMaxQueuedSequences());
    assertEquals(40, info.getMaxNewTokensLimit());
  }

  @Test
  void tokenIdAtOrBeyondVocab_orNegative_isInvalidArgument() {
    SamplingParams params = sampling(1f, 1f, 0, 5, 0);
    assertEquals(Status.Code.INVALID_ARGUMENT, codeOf(request(List.of(new int[] {3, 64}), params)));
    assertEquals(Status.Code.INVALID_ARGUMENT, codeOf(request(List.of(new int[] {-1, 2}), params)));
    var e = assertThrows(StatusRuntimeException.class,
        () -> call(request(List.of(new int[] {1}, new int[] {5, 900}), params)));
    assertTrue(e.getStatus().getDescription().contains("prompt 1 token 1 has id 900"),
        e.getStatus().getDescription());
  }

  @Test
  void promptTooLongOrEmpty_orTooManyPrompts_isInvalidArgument() {
    SamplingParams params = sampling(1f, 1f, 0, 5, 0);
    assertEquals(Status.Code.INVALID_ARGUMENT, codeOf(request(prompts(1, 128), params)));
    assertEquals(Status.Code.INVALID_ARGUMENT,
        codeOf(request(List.of(new int[] {1}, new int[0]), params)));
    assertEquals(Status.Code.INVALID_ARGUMENT, codeOf(request(List.of(), params)));
    assertEquals(Status.Code.INVALID_ARGUMENT, codeOf(request(prompts(1, 2, 2, 2, 2), params)));
  }

  @Test
  void badSamplingParameters_areInvalidArgument() {
    assertEquals(Status.Code.INVALID_ARGUMENT, codeOf(withParams(p -> p.setTemperature(-1f))));
    assertEquals(Status.Code.INVALID_ARGUMENT, codeOf(withParams(p -> p.setTemperature(Float.NaN))));
    assertEquals(Status.Code.INVALID_ARGUMENT, codeOf(withParams(p -> p.setTopP(0f))));
    assertEquals(Status.Code.INVALID_ARGUMENT, codeOf(withParams(p -> p.setTopP(1.5f))));
    assertEquals(Status.Code.INVALID_ARGUMENT, codeOf(withParams(p -> p.setMaxNewTokens(0))));
    assertEquals(Status.Code.INVALID_ARGUMENT, codeOf(withParams(p -> p.setMaxNewTokens(41))));
    assertEquals(Status.Code.INVALID_ARGUMENT, codeOf(withParams(p -> p.addStopTokens(64))));
  }

  @Test
  void malformedPromptTensors_areInvalidArgument() {
    GenerateRequest ok = request(prompts(1, 4, 2), sampling(1f, 1f, 0, 5, 0));
    Tensor shortData = ok.getPromptTokens().toBuilder()
        .setData(ByteString.copyFrom(new byte[7])).build();
    assertEquals(Status.Code.INVALID_ARGUMENT, codeOf(ok.toBuilder().setPromptTokens(shortData).build()));
    Tensor floats = ok.getPromptTokens().toBuilder().setDtype(DType.DTYPE_FLOAT32).build();
    assertEquals(Status.Code.INVALID_ARGUMENT, codeOf(ok.toBuilder().setPromptTokens(floats).build()));
    Tensor badLengths = WireTensors.ids(new int[] {4, 3}, 0, 2, DType.DTYPE_INT32, 2);
    assertEquals(Status.Code.INVALID_ARGUMENT, codeOf(ok.toBuilder().setPromptLengths(badLengths).build()));
  }

  @Test
  void promptTensorWithThousandsOfDimensions_isInvalidArgument_withABoundedDescription() {
    GenerateRequest ok = request(prompts(1, 4), sampling(1f, 1f, 0, 5, 0));
    Tensor.Builder manyDims = ok.getPromptTokens().toBuilder().clearShape();
    for (int i = 0; i < 5000; i++) {
      manyDims.addShape(1);
    }
    try (LoggedFailures logged = new LoggedFailures()) {
      Status s = assertThrows(StatusRuntimeException.class,
          () -> call(ok.toBuilder().setPromptTokens(manyDims).build())).getStatus();
      assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode(), String.valueOf(s));
      assertTrue(s.getDescription().length() <= Descriptions.MAX_CHARS, s.getDescription().length() + " characters");
      assertTrue(s.getDescription().contains("must be 1-D") && s.getDescription().contains("(4992 more)"),
          s.getDescription());
      assertEquals(List.of(), logged.withStackTraces(), "a client's mistake is not a server failure");
    }
    assertEquals(1, server.metrics().requests("invalid_argument"));
  }

  @Test
  void overQueueCapacity_isResourceExhausted_andQueuedWorkStillCompletes() throws Exception {
    CountDownLatch queueFull = new CountDownLatch(1);
    server.engine().addListener(new GenerationEngine.Listener() {
      @Override
      public void onQueued(int depth) {
        if (depth == 3) {
          queueFull.countDown();
        }
      }
    });
    server.engine().pause();
    var first = CompletableFuture.supplyAsync(
        () -> call(request(prompts(3, 4, 4, 4), sampling(1f, 1f, 0, 3, 0))));
    assertTrue(queueFull.await(30, TimeUnit.SECONDS));
    var e = assertThrows(StatusRuntimeException.class,
        () -> call(request(prompts(4, 4), sampling(1f, 1f, 0, 3, 0))));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("queue is full"), e.getStatus().getDescription());
    server.engine().resume();
    assertEquals(3, first.get(30, TimeUnit.SECONDS).size());
    assertEquals(1, server.metrics().requests("resource_exhausted"));
  }
}
