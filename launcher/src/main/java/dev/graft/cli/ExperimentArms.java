package dev.graft.cli;

import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import java.util.ArrayList;
import java.util.List;

/**
 * The arms of {@code graft experiment} and how each is sized: every arm trains the same number
 * of target positions (positions whose next token carries loss), not the same number of steps.
 * A corpus row trains {@code data.seq_len} positions, an on-policy row at most
 * {@code onpolicy.max_new_tokens} (its completion), so an on-policy arm takes more steps.
 */
final class ExperimentArms {

  /** Which question an arm belongs to. */
  enum Study { OBJECTIVES, RETROFIT }

  /** One arm: its name, its study and its config overrides. */
  record Arm(String name, Study study, List<String> overrides) {}

  /**
   * The objectives (cross-entropy; corpus rows and student rollouts under forward and reverse KL;
   * half and half) and the GQA retrofit ablations (graduality off; kv init mean-pool, keep-one and
   * random at 2 and 1 KV heads), all at the same budget. The retrofit arms train on corpus rows
   * with forward KL; their baseline (graduality on, mean-pool, 2 KV heads) is {@code corpus_fkl}.
   */
  static List<Arm> all() {
    List<Arm> arms = new ArrayList<>();
    arms.add(objective("cross_entropy", "ce", 0));
    arms.add(objective("corpus_fkl", "forward_kl", 0));
    arms.add(objective("corpus_rkl", "reverse_kl", 0));
    arms.add(objective("rollout_fkl", "forward_kl", 1));
    arms.add(objective("rollout_rkl", "reverse_kl", 1));
    arms.add(objective("mixed_rkl", "reverse_kl", 0.5));
    arms.add(retrofit("kv2_mean_pool_abrupt", 2, "mean_pool", false));
    for (int kv : new int[] {2, 1}) {
      for (String init : new String[] {"mean_pool", "keep_one", "random"}) {
        if (!(kv == 2 && init.equals("mean_pool"))) {
          arms.add(retrofit("kv" + kv + "_" + init, kv, init, true));
        }
      }
    }
    return arms;
  }

  private static Arm objective(String name, String divergence, double fraction) {
    return new Arm(name, Study.OBJECTIVES, List.of("retrofit.kv_heads=2", "retrofit.init=mean_pool",
        "retrofit.graduality=true", "loss.divergence=" + divergence, "onpolicy.fraction=" + fraction));
  }

  private static Arm retrofit(String name, int kvHeads, String init, boolean gradual) {
    return new Arm(name, Study.RETROFIT, List.of("retrofit.kv_heads=" + kvHeads, "retrofit.init=" + init,
        "retrofit.graduality=" + gradual, "loss.divergence=forward_kl", "onpolicy.fraction=0"));
  }

  /** Target positions one step of {@code c} trains at most: corpus rows whole, rollout rows their completion. */
  static long positionsPerStep(RunConfig c) {
    RunPlan p = RunPlan.of(c.with("train.steps=1000000").with("train.warmup_steps=0")
        .with("retrofit.alpha_ramp_steps=0"));
    int rollouts = p.onpolicy().rows();
    int corpus = p.train().batchSize() - rollouts;
    return (long) corpus * p.data().seqLen() + (long) rollouts * p.onpolicy().maxNewTokens();
  }

  /**
   * {@code common} with {@code arm}'s overrides, sized to {@code positions} target positions, for
   * seed {@code seed} (data order, sampling and random init), writing to {@code output}. The
   * schedule scales with the step count: warmup 10%, the α ramp over 40% (graduality on), a
   * policy version every 1/8 of the run (at most 10 steps), evaluations only before and after.
   */
  static RunConfig sized(RunConfig common, Arm arm, long positions, int seed, String output) {
    RunConfig c = common;
    for (String o : arm.overrides()) {
      c = c.with(o);
    }
    long steps = Math.max(1, (positions + positionsPerStep(c) - 1) / positionsPerStep(c));
    long publish = Math.max(1, Math.min(10, steps / 8));
    boolean gradual = c.retrofit().graduality();
    return c.with("train.steps=" + steps)
        .with("train.warmup_steps=" + Math.max(1, steps / 10))
        .with("retrofit.alpha_ramp_steps=" + (gradual ? Math.max(1, Math.round(0.4 * steps)) : 0))
        .with("onpolicy.publish_every=" + publish)
        .with("onpolicy.max_policy_lag=" + (2 * publish + 1))
        .with("train.seed=" + (1234 + seed))
        .with("retrofit.seed=" + (1234 + seed))
        .with("eval.every=0")
        .with("checkpoint.every=0")
        .with("output=" + output);
  }

  private ExperimentArms() {}
}
