package dev.graft.sampler.server;

import static dev.graft.sampler.server.TestPolicies.prompts;
import static dev.graft.sampler.server.TestPolicies.sampling;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.proto.v1.GenerateRequest;
import dev.graft.proto.v1.RolloutChunk;
import dev.graft.proto.v1.SamplerServiceGrpc;
import dev.graft.sampler.Rollout;
import dev.graft.sampler.SamplerProtos;
import dev.graft.sampler.SamplingParams;
import dev.graft.service.CallProbe;
import dev.graft.service.ManualReader;
import dev.graft.service.SlowClientLink;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Generate against a client that reads slowly or cancels, over Netty on loopback: the server
 * writes only while the call is ready, and a cancelled call gives its slots and queue places back.
 */
class SamplerFlowControlTest {

  private static final int MAY_BE_UNREAD = SlowClientLink.MAY_BE_UNREAD;
  private static final Duration WAIT = Duration.ofSeconds(120);

  private final PolicyHolder holder = TestPolicies.holder(1, 7);
  private GenerationEngine engine;
  private ExecutorService executor;
  private SlowClientLink link;
  private CallProbe probe;
  private ManagedChannel channel;

  private void start(int slots, GenerationEngine.Listener listener) throws Exception {
    engine = new GenerationEngine(holder, new GenerationEngine.Options(slots, 256, 128));
    engine.addListener(listener);
    executor = Executors.newCachedThreadPool();
    SamplerGrpcService service = new SamplerGrpcService(engine, new SamplerMetrics(), executor);
    link = new SlowClientLink(service, executor);
    probe = link.probe();
    channel = link.channel();
  }

  @AfterEach
  void stop() throws Exception {
    link.close();
    engine.close();
    executor.shutdownNow();
    holder.close();
  }

  private ManualReader<GenerateRequest, RolloutChunk> generate(List<int[]> prompts, SamplingParams params) {
    ManualReader<GenerateRequest, RolloutChunk> reader = new ManualReader<>();
    SamplerServiceGrpc.newStub(channel).generate(SamplerProtos.encode(prompts, params), reader);
    return reader;
  }

  @Test
  void slowClient_serverStopsWritingWhileItReadsNothing_thenEveryRolloutArrivesWhenItReads() throws Exception {
    int n = 16;
    start(n, new GenerationEngine.Listener() {});
    // Prompts of 88..103 tokens run into the 128-token context after 40..25 new tokens: the
    // rollouts finish one decode step apart, so each is ready to write on its own.
    List<int[]> p = prompts(2, lengths(n, i -> 88 + i));
    var reader = generate(p, sampling(1f, 1f, 0, 124, 5));
    assertTrue(probe.awaitStalledOrClosed(WAIT), "the server neither found the call unready nor finished");
    long written = probe.bytesBeforeLast();
    assertFalse(probe.closed(), "the server wrote every rollout to a client that read none");
    assertTrue(written <= MAY_BE_UNREAD, written + " bytes written to a client that read none (at most "
        + MAY_BE_UNREAD + ")");
    assertEquals(List.of(), reader.received());

    reader.request(Integer.MAX_VALUE);
    assertEquals(Status.Code.OK, reader.awaitEnd(WAIT).getCode());
    List<dev.graft.proto.v1.Rollout> got = new ArrayList<>();
    reader.received().forEach(c -> got.addAll(c.getRolloutsList()));
    assertEquals(n, got.size());
    long answerBytes = got.stream().mapToLong(dev.graft.proto.v1.Rollout::getSerializedSize).sum();
    assertTrue(answerBytes > 3 * MAY_BE_UNREAD, "the answer must dwarf what may be in flight: " + answerBytes);
    for (dev.graft.proto.v1.Rollout r : got) {
      Rollout rollout = SamplerProtos.decode(r, p.get(r.getIndex()));
      assertEquals(128 - p.get(r.getIndex()).length, rollout.tokens().length, "rollout " + r.getIndex());
      assertEquals(Rollout.Finish.CONTEXT_FULL, rollout.finish());
    }
  }

  @Test
  void cancel_freesTheJobsSlotsAndQueuedPrompts_beforeTheNextStep() throws Exception {
    List<Long> finishedJobs = new CopyOnWriteArrayList<>();
    List<Integer> stepsAfterResume = new CopyOnWriteArrayList<>();
    CountDownLatch held = new CountDownLatch(1);
    boolean[] resumed = {false};
    start(2, new GenerationEngine.Listener() {
      private boolean pausing;

      @Override
      public void onAdmitted(long jobId, int index, int slot) {
        if (jobId == 0 && index == 1) { // both slots taken by the first job: hold the engine here
          engine.pause();
          pausing = true;
        }
      }

      @Override
      public void onStep(int activeSlots) {
        if (pausing) { // the one step a pause lets finish
          pausing = false;
          held.countDown();
        } else if (resumed[0]) {
          stepsAfterResume.add(activeSlots);
        }
      }

      @Override
      public void onFinished(long jobId, int index, Rollout rollout) {
        finishedJobs.add(jobId);
      }
    });
    var reader = generate(prompts(3, 4, 4, 4), sampling(1f, 1f, 0, 120, 0));
    assertTrue(held.await(WAIT.toSeconds(), TimeUnit.SECONDS));
    assertEquals(2, engine.activeSlots());
    assertEquals(1, engine.queuedSequences());

    reader.cancel();
    assertTrue(probe.awaitCancelled(WAIT), "the server never saw the cancellation");
    assertEquals(0, engine.queuedSequences(), "the cancelled job's queued prompt is still queued");
    resumed[0] = true;
    engine.resume();
    var next = SamplerServiceGrpc.newBlockingStub(channel)
        .generate(SamplerProtos.encode(prompts(4, 5), sampling(1f, 1f, 0, 6, 0)));
    int rollouts = 0;
    while (next.hasNext()) {
      rollouts += next.next().getRolloutsCount();
    }
    assertEquals(1, rollouts);
    assertEquals(List.of(1L), finishedJobs, "only the second job finished");
    assertTrue(stepsAfterResume.stream().allMatch(a -> a == 1),
        "after the cancel every step ran the second job alone: " + stepsAfterResume);
    assertEquals(0, engine.activeSlots());
    assertEquals(Status.Code.CANCELLED, reader.awaitEnd(WAIT).getCode());
  }

  private static int[] lengths(int n, IntUnaryOperator length) {
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      out[i] = length.applyAsInt(i);
    }
    return out;
  }
}
