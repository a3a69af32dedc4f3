package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.graft.proto.v1.EvalSummary;
import dev.graft.proto.v1.RunPhase;
import dev.graft.proto.v1.TrainerStatus;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

class TrainerStatusCommandTest {

  private static TrainerStatus status(double evalAlpha) {
    return TrainerStatus.newBuilder().setRunId("run-a").setPhase(RunPhase.RUN_PHASE_TRAINING).setStep(40)
        .setTotalSteps(300).setLoss(0.25).setMeanAlpha(evalAlpha).setTokensPerSecond(1234)
        .setLastEval(EvalSummary.newBuilder().setStep(40).setTokens(100).setKl(0.1).setStudentPerplexity(90.02)
            .setTeacherPerplexity(54.6).setTop1Agreement(0.8).setGapRecovered(0.8).setMeanAlpha(evalAlpha))
        .build();
  }

  @Test
  void describe_midRampEvaluation_saysItScoredABlendedStudent() {
    assertEquals("run run-a: RUN_PHASE_TRAINING, step 40 of 300, loss 0.2500, alpha 0.40, 1,234 tok/s\n"
        + "held-out at step 40 [blended (mean alpha 0.40): not the student that ships]: KL 0.1000,"
        + " perplexity 90.02 (teacher 54.60), top-1 agreement 0.800, gap recovered 80.0%\n",
        TrainerStatusCommand.describe(status(0.4)).replace(System.lineSeparator(), "\n"));
  }

  @Test
  void describe_alphaOneEvaluation_saysSo() {
    assertEquals("held-out at step 40 (alpha = 1): KL 0.1000, perplexity 90.02 (teacher 54.60),"
        + " top-1 agreement 0.800, gap recovered 80.0%",
        TrainerStatusCommand.describe(status(1)).lines().toList().get(1));
  }

  @Test
  void describe_failedCall_namesTheCodeAndTheInnermostCause() {
    Status s = Status.UNAVAILABLE.withDescription("ssl exception")
        .withCause(new RuntimeException("decoder", new IllegalStateException("TLSV1_ALERT_CERTIFICATE_REQUIRED")));
    assertEquals("UNAVAILABLE: ssl exception (TLSV1_ALERT_CERTIFICATE_REQUIRED)", TrainerStatusCommand.describe(s));
    assertEquals("PERMISSION_DENIED: client intruder may not call it",
        TrainerStatusCommand.describe(Status.PERMISSION_DENIED.withDescription("client intruder may not call it")));
  }
}
