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

  /**
   * Which question an arm belongs to: the objectives; the GQA retrofit's graduality and KV init;
   * graduality on vs off for other retrofits (int4, hybrid); the hybrid's attention share with vs
   * without the alignment stages; SeqKD + KL vs KL. The KV-head sweep ({@link KvSweep}) is a
   * study of its own kind (from-scratch models beside retrofits).
   */
  enum Study { OBJECTIVES, RETROFIT, GRADUALITY, HYBRID_STAGES, SEQKD }

  /**
   * One arm: its name, its study and its config overrides; {@code stageShare} of the arm's
   * positions budget goes to the alignment stages (half each to {@code align.mixer_tokens} and
   * {@code align.block_tokens}) and the rest to distillation steps, so an arm with stages trains
   * the same total as one without.
   */
  record Arm(String name, Study study, List<String> overrides, double stageShare) {
    Arm {
      overrides = List.copyOf(overrides);
      if (!(stageShare >= 0 && stageShare < 1)) {
        throw new IllegalArgumentException("arm " + name + ": stage share (" + stageShare + ") must be in [0, 1)");
      }
    }

    Arm(String name, Study study, List<String> overrides) {
      this(name, study, overrides, 0);
    }
  }

  /** Share of the budget the hybrid arms with stages spend in stages 1–2. */
  static final double STAGE_SHARE = 0.25;

  /**
   * The objectives (cross-entropy; corpus rows and student rollouts under forward and reverse KL;
   * half and half) and the GQA retrofit ablations (graduality off; kv init mean-pool, keep-one and
   * random at 2 and 1 KV heads), and int4 quantization with graduality on and off, all at the same
   * budget. The retrofit arms train on corpus rows with forward KL; the GQA baseline (graduality on,
   * mean-pool, 2 KV heads) is {@code corpus_fkl}.
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
    for (boolean gradual : new boolean[] {true, false}) {
      arms.add(new Arm(gradual ? "int4_gradual" : "int4_abrupt", Study.GRADUALITY, List.of("retrofit.type=quant",
          "retrofit.bits=4", "retrofit.graduality=" + gradual, "loss.divergence=forward_kl", "onpolicy.fraction=0")));
    }
    return arms;
  }

  /**
   * The arms on the hybrid retrofit (some layers kept as attention, the rest replaced), its
   * alignment stages and SeqKD: (a) 1/2 and 1/4 of the layers kept as attention, with stages 1–2
   * (a {@link #STAGE_SHARE} of the budget) vs without, at the same total budget; (b) graduality
   * on vs off at 1/2; (d) SeqKD + KL vs KL alone at 1/2. They run where the build knows their
   * config keys ({@link #available}).
   */
  static List<Arm> hybrid() {
    List<Arm> arms = new ArrayList<>();
    for (String[] share : new String[][] {{"half", "every:2"}, {"quarter", "every:4"}}) {
      arms.add(hybrid("hybrid_" + share[0] + "_stages", Study.HYBRID_STAGES, share[1], STAGE_SHARE, true));
      arms.add(hybrid("hybrid_" + share[0] + "_direct", Study.HYBRID_STAGES, share[1], 0, true,
          "align.mixer_tokens=0", "align.block_tokens=0"));
    }
    arms.add(hybrid("hybrid_half_gradual", Study.GRADUALITY, "every:2", 0, true));
    arms.add(hybrid("hybrid_half_abrupt", Study.GRADUALITY, "every:2", 0, false));
    arms.add(hybrid("hybrid_half_kl", Study.SEQKD, "every:2", 0, true, "seqkd.fraction=0"));
    arms.add(hybrid("hybrid_half_seqkd_kl", Study.SEQKD, "every:2", 0, true, "seqkd.fraction=0.5",
        "seqkd.kl_weight=1"));
    return arms;
  }

  private static Arm hybrid(String name, Study study, String attentionLayers, double stageShare, boolean gradual,
      String... extra) {
    List<String> o = new ArrayList<>(List.of("retrofit.type=hybrid", "retrofit.attention_layers=" + attentionLayers,
        "retrofit.graduality=" + gradual, "loss.divergence=forward_kl", "onpolicy.fraction=0"));
    o.addAll(List.of(extra));
    return new Arm(name, study, o, stageShare);
  }

  /** Whether {@code config} takes every key {@code arm} sets (a build without the hybrid retrofit does not). */
  static boolean available(RunConfig config, Arm arm) {
    try {
      RunConfig c = config;
      for (String o : arm.overrides()) {
        c = c.with(o);
      }
      if (arm.stageShare() > 0) {
        c.with("align.mixer_tokens=1").with("align.block_tokens=1");
      }
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** Every arm this build can run: {@link #all()} and the {@link #hybrid()} arms whose keys exist. */
  static List<Arm> runnable(RunConfig config) {
    List<Arm> arms = new ArrayList<>(all());
    hybrid().stream().filter(a -> available(config, a)).forEach(arms::add);
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

  /**
   * {@code positions} split into stage 1 (mixer alignment), stage 2 (block alignment) and
   * distillation: the stages take {@code share} of it, half each; distillation the rest.
   */
  static long[] stageSplit(long positions, double share) {
    long stages = Math.round(share * positions);
    return new long[] {stages / 2, stages - stages / 2, positions - stages};
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
   * policy version every 1/8 of the run (at most 10 steps), evaluations only before and after. An
   * arm with a stage share spends it in the alignment stages and the rest in distillation steps.
   */
  static RunConfig sized(RunConfig common, Arm arm, long positions, int seed, String output) {
    RunConfig c = common;
    for (String o : arm.overrides()) {
      c = c.with(o);
    }
    long[] split = stageSplit(positions, arm.stageShare());
    if (split[0] + split[1] > 0) {
      c = c.with("align.mixer_tokens=" + split[0]).with("align.block_tokens=" + split[1]);
    }
    long distill = split[2];
    long steps = Math.max(1, (distill + positionsPerStep(c) - 1) / positionsPerStep(c));
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
