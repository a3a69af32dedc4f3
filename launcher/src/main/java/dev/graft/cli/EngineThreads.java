package dev.graft.cli;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The PyTorch engine's thread pools when several roles share one JVM and its cores.
 *
 * <p>What the engine does (PyTorch 2.7 through DJL 0.35, CPU): the intra-op size is one
 * process-wide number ({@code ai.djl.pytorch.num_threads}, else {@code OMP_NUM_THREADS}, else
 * the cores) that each Java thread adopts on its first engine call, and every thread that runs
 * operations gets its own OpenMP team of that size. So k roles calling the engine at once (the
 * trainer's step, the teacher's scoring, the sampler's decoding) run k × intra-op threads, whose
 * spinning barriers stall each other when they outnumber the cores: decoding at batch 1 beside
 * one busy process ran 5× slower with 2 intra-op threads than with 1. The inter-op pool only runs
 * asynchronous forks, which eager operations never make, so one thread is enough.
 *
 * <p>The plan gives each concurrent caller {@code max(1, cores / callers)} intra-op threads
 * unless the user chose a size (the system property or {@code OMP_NUM_THREADS}), which wins.
 *
 * @param intraOp threads per engine caller
 * @param interOp inter-op pool size
 * @param callers roles that call the engine concurrently in this process
 * @param cores processors available to this JVM
 * @param chosenBy where {@code intraOp} comes from
 */
record EngineThreads(int intraOp, int interOp, int callers, int cores, String chosenBy) {

  static final String INTRA_OP = "ai.djl.pytorch.num_threads";
  static final String INTER_OP = "ai.djl.pytorch.num_interop_threads";
  static final String OMP = "OMP_NUM_THREADS";

  EngineThreads {
    if (intraOp < 1 || interOp < 1 || callers < 1 || cores < 1) {
      throw new IllegalArgumentException("engine threads must be >= 1: intra-op " + intraOp + ", inter-op "
          + interOp + ", callers " + callers + ", cores " + cores);
    }
  }

  /** The plan for {@code callers} concurrent engine callers on this machine and environment. */
  static EngineThreads forCallers(int callers) {
    return plan(callers, Runtime.getRuntime().availableProcessors(), System::getProperty, System.getenv());
  }

  /**
   * @param property reads a system property (null when unset)
   * @throws IllegalArgumentException for a user setting that is not a positive integer
   */
  static EngineThreads plan(int callers, int cores, UnaryOperator<String> property, Map<String, String> env) {
    if (callers < 1) {
      throw new IllegalArgumentException("engine callers must be >= 1, got " + callers);
    }
    int inter = property.apply(INTER_OP) == null ? 1 : positive(INTER_OP, property.apply(INTER_OP));
    if (property.apply(INTRA_OP) != null) {
      return new EngineThreads(positive(INTRA_OP, property.apply(INTRA_OP)), inter, callers, cores,
          "-D" + INTRA_OP);
    }
    if (env.get(OMP) != null) {
      return new EngineThreads(positive(OMP, env.get(OMP)), inter, callers, cores, OMP);
    }
    return new EngineThreads(Math.max(1, cores / callers), inter, callers, cores,
        cores + " cores / " + callers + " concurrent callers");
  }

  private static int positive(String name, String value) {
    try {
      int n = Integer.parseInt(value.trim());
      if (n >= 1) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(name + " must be a positive integer, got '" + value + "'");
  }

  /**
   * Makes this the engine's setting: the inter-op size for an engine not started yet (unless the
   * user chose one), then the live intra-op size, which every thread adopts on its first engine
   * call (threads that already ran operations keep theirs, except the calling thread). The
   * intra-op system property is left as the user set it, so later plans in this JVM still tell
   * the user's choice from this one. Call before the roles start their threads.
   */
  void apply() {
    if (System.getProperty(INTER_OP) == null) {
      System.setProperty(INTER_OP, Integer.toString(interOp));
    }
    Engine.getEngine("PyTorch"); // starts the engine if it is not running yet
    JniUtils.setNumThreads(intraOp);
  }

  /** One line for the console. */
  String describe() {
    return String.format(Locale.ROOT, "engine threads: %d intra-op per caller x %d concurrent callers on %d"
        + " cores (%s), inter-op %d", intraOp, callers, cores, chosenBy, interOp);
  }
}
