package dev.graft.trainer.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.data.TokenBatch;
import dev.graft.sampler.Rollout;
import dev.graft.sampler.RolloutSource;
import dev.graft.sampler.SamplerInfo;
import dev.graft.sampler.SamplerUnavailableException;
import dev.graft.sampler.SamplingParams;
import dev.graft.service.Backoff;
import dev.graft.trainer.data.Batch;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class OnPolicyDataTest {

  private static final long EPOCH = 42;
  private static final int EOS = 2;

  /** Completes each prompt with scripted tokens, stamped with a scripted (epoch, version) per call. */
  private static final class Scripted implements RolloutSource {
    final List<long[]> policies; // per call: {epoch, version}; the last repeats
    final int[] completion;
    final AtomicInteger calls = new AtomicInteger();
    final List<SamplingParams> params = new ArrayList<>();
    final List<List<int[]>> prompts = new ArrayList<>();
    volatile boolean down;

    Scripted(List<long[]> policies, int... completion) {
      this.policies = policies;
      this.completion = completion;
    }

    @Override
    public SamplerInfo info() {
      return new SamplerInfo(200, 64, policies.get(0)[1], policies.get(0)[0]);
    }

    @Override
    public synchronized List<Rollout> generate(List<int[]> ps, SamplingParams p) {
      if (down) {
        throw new SamplerUnavailableException("Generate failed after 5 attempts (UNAVAILABLE)");
      }
      long[] policy = policies.get(Math.min(calls.getAndIncrement(), policies.size() - 1));
      params.add(p);
      prompts.add(ps);
      List<Rollout> out = new ArrayList<>();
      for (int[] prompt : ps) {
        out.add(new Rollout(prompt, completion.clone(), new float[completion.length], policy[1],
            Rollout.Finish.MAX_NEW_TOKENS, policy[0]));
      }
      return out;
    }

    @Override
    public void close() {}
  }

  /** What a run published: EPOCH and the given versions. */
  private static PublishedVersions published(Long... versions) {
    Set<Long> set = Set.of(versions);
    return new PublishedVersions() {
      @Override
      public long epoch() {
        return EPOCH;
      }

      @Override
      public boolean hasPublished(long version) {
        return set.contains(version);
      }
    };
  }

  private static RunPlan.OnPolicy cfg(double fraction, long lag, String... more) {
    List<String> set = new ArrayList<>(List.of("onpolicy.fraction=" + fraction, "onpolicy.prompt_tokens=3",
        "onpolicy.max_new_tokens=3", "onpolicy.publish_every=1", "onpolicy.max_policy_lag=" + lag,
        "onpolicy.patience_seconds=5", "train.batch_size=4", "train.micro_batch=4"));
    set.addAll(List.of(more));
    return RunPlan.of(RunConfig.load(null, set)).onpolicy();
  }

  /** Prompts from two documents, [bos=1, 50, 51] and [bos=1, 60, 61]; a third is too short for one. */
  private static DocumentPrompts prompts() {
    DocumentPrompts p = new DocumentPrompts(1, 3, 7);
    var encoder = p.capturing(text -> switch (text) {
      case "a" -> new int[] {50, 51, 52};
      case "b" -> new int[] {60, 61};
      default -> new int[] {70};
    });
    encoder.encode("a");
    encoder.encode("b");
    encoder.encode("short");
    return p;
  }

  private static final class Clock {
    long nanos;
    final List<Duration> sleeps = new ArrayList<>();

    Backoff.Sleeper sleeper() {
      return d -> {
        sleeps.add(d);
        nanos += d.toNanos();
      };
    }
  }

  private static OnPolicyData data(RunPlan.OnPolicy cfg, RolloutSource samplers, PublishedVersions published,
      Clock clock, List<String> events) {
    Patience patience = new Patience("samplers", cfg.patience(), new Backoff(Duration.ofSeconds(1),
        Duration.ofSeconds(2)), clock.sleeper(), () -> clock.nanos, new DistillListener() {
          @Override
          public void onWaiting(String peers, double seconds, String why) {
            events.add("waiting " + peers + " " + (long) seconds);
          }

          @Override
          public void onResumed(String peers, double seconds) {
            events.add("resumed " + peers + " " + (long) seconds);
          }
        }, SamplerUnavailableException.class);
    return new OnPolicyData(cfg, samplers, prompts(), 0, new int[] {EOS}, published, patience, 1234);
  }

  private static Batch corpusBatch(int rows, int t) {
    int[] in = new int[rows * t];
    int[] tg = new int[rows * t];
    float[] mask = new float[rows * t];
    for (int i = 0; i < in.length; i++) {
      in[i] = 10 + i;
      tg[i] = 11 + i;
      mask[i] = 1;
    }
    return new Batch(new TokenBatch(rows, t, in), new TokenBatch(rows, t, tg), mask);
  }

  @Test
  void complete_replacesTheLastRows_withADocumentBeginningPlusCompletion_lossOnCompletionPredictionsOnly() {
    Scripted samplers = new Scripted(List.<long[]>of(new long[] {EPOCH, 5}), 100, 110, EOS);
    OnPolicyData d = data(cfg(0.5, 2), samplers, published(5L), new Clock(), new ArrayList<>());
    OnPolicyData.Result r = d.complete(corpusBatch(4, 8), 7);
    Batch b = r.batch();
    assertEquals(2, r.rolloutRows());
    assertEquals(new RolloutLag(2, 2, 2), r.lag());
    assertArrayEquals(Arrays.copyOf(corpusBatch(4, 8).inputs().ids(), 16), Arrays.copyOf(b.inputs().ids(), 16),
        "rows 0 and 1 stay corpus rows");
    int[] prompt = samplers.prompts.get(0).get(0);
    assertEquals(1, prompt[0], "a prompt starts a document: [bos] first");
    assertTrue(Arrays.equals(prompt, new int[] {1, 50, 51}) || Arrays.equals(prompt, new int[] {1, 60, 61}),
        Arrays.toString(prompt));
    // Row 2: prompt (3) + completion ending at EOS; EOS is trained on, the padding after it is not.
    int[] in = Arrays.copyOfRange(b.inputs().ids(), 16, 24);
    int[] tg = Arrays.copyOfRange(b.targets().ids(), 16, 24);
    float[] mask = Arrays.copyOfRange(b.mask(), 16, 24);
    assertArrayEquals(new int[] {prompt[0], prompt[1], prompt[2], 100, 110, 0, 0, 0}, in);
    assertArrayEquals(new int[] {prompt[1], prompt[2], 100, 110, EOS, 0, 0, 0}, tg);
    assertArrayEquals(new float[] {0, 0, 1, 1, 1, 0, 0, 0}, mask);
    assertArrayEquals(new int[] {EOS}, samplers.params.get(0).stopTokens(), "generation stops at the tokenizer's EOS");
    assertEquals(6, d.generatedTokens());
    assertArrayEquals(new long[] {0, 0, 2}, d.lagHistogram());
  }

  @Test
  void prompts_areChosenBySeedAndStep_soAResumedRunAsksForTheSame() {
    DocumentPrompts a = prompts();
    DocumentPrompts b = prompts();
    for (long step = 1; step < 20; step++) {
      assertArrayEquals(a.forRow(step, 0), b.forRow(step, 0));
      assertArrayEquals(a.forRow(step, 1), b.forRow(step, 1));
    }
    assertEquals(2, a.size(), "the one-token document gives no prompt");
  }

  @Test
  void lag_isTheTrainingStepMinusTheRolloutsVersion_andStaleOnesAreRegenerated() {
    // Step 10 with max lag 2: version 7 (lag 3) is stale, version 8 (lag 2) is used.
    Scripted samplers = new Scripted(List.of(new long[] {EPOCH, 7}, new long[] {EPOCH, 8}), 100);
    OnPolicyData d = data(cfg(0.25, 2), samplers, published(7L, 8L), new Clock(), new ArrayList<>());
    OnPolicyData.Result r = d.complete(corpusBatch(4, 8), 10);
    assertEquals(new RolloutLag(2, 2, 2), r.lag());
    assertEquals(1, d.staleDropped(), "one stale rollout (version 7 for step 10, lag 3 > 2) was dropped");
    assertEquals(2, samplers.calls.get());
  }

  @Test
  void rolloutsOfAnotherRun_orOfAVersionThisRunNeverPublished_areDroppedAndCounted() {
    Scripted samplers = new Scripted(List.of(new long[] {7, 70}, new long[] {EPOCH, 9}, new long[] {EPOCH, 8}), 100);
    OnPolicyData d = data(cfg(0.25, 2), samplers, published(8L), new Clock(), new ArrayList<>());
    OnPolicyData.Result r = d.complete(corpusBatch(4, 8), 10);
    assertEquals(new RolloutLag(2, 2, 2), r.lag(), "only this run's published version 8 is trained on");
    assertEquals(2, d.foreignDropped(), "epoch 7 version 70, and version 9 never published");
    assertEquals(0, d.staleDropped());
  }

  @Test
  void samplersThatNeverDeliver_makeTheStepWait_thenFailAfterThePatience_naming_it() {
    Clock clock = new Clock();
    List<String> events = new ArrayList<>();
    Scripted samplers = new Scripted(List.<long[]>of(new long[] {EPOCH, 3}), 100);
    OnPolicyData d = data(cfg(0.5, 2), samplers, published(3L), clock, events);
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> d.complete(corpusBatch(4, 6), 10));
    assertTrue(e.getMessage().contains("no samplers answered for") && e.getMessage().contains("patience 5 s")
        && e.getMessage().contains("older than 8"), e.getMessage());
    assertEquals(List.of(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(2)), clock.sleeps);
    assertEquals("waiting samplers 0", events.get(0));
  }

  @Test
  void samplersThatComeBack_withinThePatience_letTheStepGoOn() {
    Clock clock = new Clock();
    List<String> events = new ArrayList<>();
    Scripted samplers = new Scripted(List.<long[]>of(new long[] {EPOCH, 8}), 100);
    samplers.down = true;
    AtomicLong sleeps = new AtomicLong();
    Patience patience = new Patience("samplers", Duration.ofSeconds(60), new Backoff(Duration.ofSeconds(1),
        Duration.ofSeconds(1)), dt -> {
          clock.nanos += dt.toNanos();
          if (sleeps.incrementAndGet() == 3) {
            samplers.down = false; // the replica is back after three waits
          }
        }, () -> clock.nanos, new DistillListener() {
          @Override
          public void onWaiting(String peers, double seconds, String why) {
            events.add("waiting " + (long) seconds);
          }

          @Override
          public void onResumed(String peers, double seconds) {
            events.add("resumed " + (long) seconds);
          }
        }, SamplerUnavailableException.class);
    OnPolicyData back = new OnPolicyData(cfg(0.5, 2), samplers, prompts(), 0, new int[] {EOS}, published(8L), patience, 1234);
    OnPolicyData.Result r = back.complete(corpusBatch(4, 6), 10);
    assertEquals(2, r.rolloutRows());
    assertEquals(List.of("waiting 0", "waiting 1", "waiting 2", "resumed 3"), events);
    assertEquals(0, back.fallbackRows());
  }

  @Test
  void fallbackToCorpus_trainsOnCorpusRowsWhileSamplersAreDown_andCountsThem() {
    Scripted samplers = new Scripted(List.<long[]>of(new long[] {EPOCH, 8}), 100);
    samplers.down = true;
    OnPolicyData d = data(cfg(0.5, 2, "onpolicy.fallback_to_corpus=true"), samplers, published(8L), new Clock(),
        new ArrayList<>());
    Batch corpus = corpusBatch(4, 6);
    OnPolicyData.Result r = d.complete(corpus, 10);
    assertArrayEquals(corpus.inputs().ids(), r.batch().inputs().ids());
    assertNull(r.lag());
    assertEquals(0, r.rolloutRows());
    assertEquals(2, d.fallbackRows());
  }

  @Test
  void onPolicyConfig_thatCannotFit_orWhoseLagCannotBeMet_isRefused() {
    RunConfig c = RunConfig.load(null, List.of("onpolicy.fraction=0.5", "onpolicy.prompt_tokens=100",
        "onpolicy.max_new_tokens=40"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunPlan.of(c));
    assertTrue(e.getMessage().contains("must fit in data.seq_len (128)"), e.getMessage());
    RunConfig lag = RunConfig.load(null, List.of("onpolicy.publish_every=10", "onpolicy.max_policy_lag=10"));
    e = assertThrows(IllegalArgumentException.class, () -> RunPlan.of(lag));
    assertTrue(e.getMessage().contains("onpolicy.max_policy_lag (10) must be >= onpolicy.publish_every + 1 (11)"),
        e.getMessage());
  }
}
