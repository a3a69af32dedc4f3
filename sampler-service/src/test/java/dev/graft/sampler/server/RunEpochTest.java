package dev.graft.sampler.server;

import static dev.graft.sampler.server.TestPolicies.prompts;
import static dev.graft.sampler.server.TestPolicies.sampling;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.graft.sampler.Rollout;
import dev.graft.sampler.SamplerClient;
import dev.graft.sync.publish.PolicyServer;
import dev.graft.sync.publish.WeightPublisher;
import dev.graft.sync.subscribe.WeightSubscriber;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A long-lived sampler outlives the trainer run that fed it: when a new run (a new epoch) starts
 * on the same address and numbers its versions from 0 again, the sampler must drop the old run's
 * policy and serve the new one's, over real gRPC channels.
 */
class RunEpochTest {

  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
  }

  private <T extends AutoCloseable> T keep(T c) {
    open.add(0, c);
    return c;
  }

  @Test
  void aSamplerOfAnEarlierRun_retiresItsPolicy_andServesTheNewRunsVersion0() throws Exception {
    WeightPublisher runA = new WeightPublisher();
    PolicyServer trainerA = PolicyServer.start(runA, 0);
    int port = trainerA.port();
    runA.publish(TestPolicies.update(70, 7)); // the earlier run had reached version 70

    PolicyHolder holder = keep(new PolicyHolder());
    BlockingQueue<String> events = new LinkedBlockingQueue<>();
    holder.addListener(new PolicyHolder.Listener() {
      @Override
      public void installed(long epoch, long version) {
        events.add("installed " + Long.toUnsignedString(epoch) + " v" + version);
      }

      @Override
      public void retired(long newEpoch) {
        events.add("retired for " + Long.toUnsignedString(newEpoch));
      }
    });
    SamplerServer sampler = keep(SamplerServer.builder().policies(holder).port(0).slots(2)
        .shutdownGrace(Duration.ofMillis(100)).build().start());
    WeightSubscriber sub = keep(WeightSubscriber.builder().endpoint("localhost:" + port).installer(holder).build());
    sub.start();
    assertEquals("installed " + Long.toUnsignedString(runA.epoch()) + " v70", events.poll(60, TimeUnit.SECONDS));

    // The trainer is restarted: a new run on the same address, numbering its versions from 0.
    trainerA.close();
    WeightPublisher runB = new WeightPublisher();
    assertNotEquals(runA.epoch(), runB.epoch());
    keep(PolicyServer.start(runB, port));
    runB.publish(TestPolicies.update(0, 8));

    assertEquals("retired for " + Long.toUnsignedString(runB.epoch()), events.poll(60, TimeUnit.SECONDS),
        "the old run's policy must be dropped before the new one is served");
    assertEquals("installed " + Long.toUnsignedString(runB.epoch()) + " v0", events.poll(60, TimeUnit.SECONDS));
    assertEquals(runB.epoch(), holder.currentEpoch());
    assertEquals(0, holder.currentVersion());
    assertEquals(1, sub.stats().policiesRetired());

    SamplerClient client = keep(SamplerClient.connect(List.of("localhost:" + sampler.port())));
    List<Rollout> rollouts = client.generate(prompts(3, 4, 5), sampling(1f, 1f, 0, 4, 11));
    for (Rollout r : rollouts) {
      assertEquals(runB.epoch(), r.policyEpoch(), "rollouts name the run that made their policy");
      assertEquals(0, r.policyVersion());
    }
  }
}
