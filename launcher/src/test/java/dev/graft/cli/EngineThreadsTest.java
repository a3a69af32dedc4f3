package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

class EngineThreadsTest {

  @Test
  void plan_withoutUserSetting_sharesTheCoresAmongConcurrentCallers() {
    EngineThreads t = EngineThreads.plan(3, 8, k -> null, Map.of());
    assertEquals(2, t.intraOp());
    assertEquals(1, t.interOp());
    assertEquals("engine threads: 2 intra-op per caller x 3 concurrent callers on 8 cores"
        + " (8 cores / 3 concurrent callers), inter-op 1", t.describe());
    assertEquals(1, EngineThreads.plan(3, 2, k -> null, Map.of()).intraOp());
    assertEquals(2, EngineThreads.plan(1, 2, k -> null, Map.of()).intraOp());
  }

  @Test
  void plan_userSetting_wins_propertyBeforeOmpNumThreads() {
    Map<String, String> env = Map.of(EngineThreads.OMP, "3");
    assertEquals(3, EngineThreads.plan(3, 2, k -> null, env).intraOp());
    EngineThreads t = EngineThreads.plan(3, 2,
        k -> k.equals(EngineThreads.INTRA_OP) ? "4" : k.equals(EngineThreads.INTER_OP) ? "2" : null, env);
    assertEquals(4, t.intraOp());
    assertEquals(2, t.interOp());
    assertEquals("-Dai.djl.pytorch.num_threads", t.chosenBy());
  }

  @Test
  void plan_badUserSetting_isRefusedWithItsValue() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> EngineThreads.plan(2, 2, k -> null, Map.of(EngineThreads.OMP, "zero")));
    assertEquals("OMP_NUM_THREADS must be a positive integer, got 'zero'", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> EngineThreads.plan(2, 2, k -> k.equals(EngineThreads.INTRA_OP) ? "0" : null, Map.of()));
    assertEquals("ai.djl.pytorch.num_threads must be a positive integer, got '0'", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> EngineThreads.plan(0, 2, k -> null, Map.of()));
    assertEquals("engine callers must be >= 1, got 0", e.getMessage());
  }

  @Test
  void apply_ofTheUsersSetting_keepsItTheUsersForLaterPlans() {
    String user = System.getProperty(EngineThreads.INTRA_OP);
    if (user == null) {
      return; // covered by the test below
    }
    EngineThreads.forCallers(1).apply();
    EngineThreads later = EngineThreads.forCallers(3);
    assertEquals(Integer.parseInt(user), later.intraOp());
    assertEquals("-Dai.djl.pytorch.num_threads", later.chosenBy());
  }

  @Test
  void apply_setsTheEngine_andALaterPlanStillSizesByCallers() {
    if (System.getenv(EngineThreads.OMP) != null) {
      return; // the environment chose a size for this JVM
    }
    String user = System.getProperty(EngineThreads.INTRA_OP);
    int before = ai.djl.pytorch.jni.JniUtils.getNumThreads();
    System.clearProperty(EngineThreads.INTRA_OP); // as if the user had chosen nothing
    try {
      int cores = Runtime.getRuntime().availableProcessors();
      EngineThreads first = EngineThreads.forCallers(1);
      assertEquals(cores, first.intraOp());
      first.apply();
      assertEquals(cores, ai.djl.pytorch.jni.JniUtils.getNumThreads());
      EngineThreads second = EngineThreads.forCallers(cores + 1); // more callers than cores: 1 each
      assertEquals(1, second.intraOp());
      second.apply();
      assertEquals(1, ai.djl.pytorch.jni.JniUtils.getNumThreads());
    } finally {
      if (user == null) {
        System.clearProperty(EngineThreads.INTRA_OP);
      } else {
        System.setProperty(EngineThreads.INTRA_OP, user);
      }
      ai.djl.pytorch.jni.JniUtils.setNumThreads(before);
    }
  }
}
