package dev.graft.trainer.server;

import dev.graft.proto.v1.EvalSummary;
import dev.graft.proto.v1.GetStatusRequest;
import dev.graft.proto.v1.RunPhase;
import dev.graft.proto.v1.TrainerServiceGrpc;
import dev.graft.proto.v1.TrainerStatus;
import dev.graft.service.Descriptions;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/** The {@code TrainerService} RPCs: {@link RunStatus} to proto and failures to a status, nothing else. */
final class TrainerGrpcService extends TrainerServiceGrpc.TrainerServiceImplBase {

  private final RunStatus status;

  TrainerGrpcService(RunStatus status) {
    this.status = status;
  }

  @Override
  public void getStatus(GetStatusRequest request, StreamObserver<TrainerStatus> response) {
    TrainerStatus answer;
    try {
      answer = toProto(status.snapshot());
    } catch (RuntimeException e) {
      response.onError(toStatus(e).asRuntimeException());
      return;
    }
    response.onNext(answer);
    response.onCompleted();
  }

  /**
   * The one place where failures become gRPC statuses, the description bounded
   * ({@link Descriptions#bound}) so that it fits in the trailers.
   */
  static Status toStatus(Throwable e) {
    return Status.INTERNAL.withDescription(Descriptions.bound("trainer status failed: " + e)).withCause(e);
  }

  static TrainerStatus toProto(RunStatus.Snapshot s) {
    TrainerStatus.Builder b = TrainerStatus.newBuilder()
        .setRunId(s.runId())
        .setPhase(switch (s.phase()) {
          case PREPARING -> RunPhase.RUN_PHASE_PREPARING;
          case TRAINING -> RunPhase.RUN_PHASE_TRAINING;
          case DONE -> RunPhase.RUN_PHASE_DONE;
          case FAILED -> RunPhase.RUN_PHASE_FAILED;
        })
        .setStep(s.step())
        .setTotalSteps(s.totalSteps())
        .setLoss(s.loss())
        .setLearningRate(s.lr())
        .setMeanAlpha(s.meanAlpha())
        .setTokensPerSecond(s.tokensPerSecond())
        .setTeacherWaitSeconds(s.teacherWaitSeconds())
        .setError(s.error());
    if (s.lastEval() != null) {
      var m = s.lastEval().metrics();
      b.setLastEval(EvalSummary.newBuilder()
          .setStep(s.lastEval().step())
          .setTokens(m.tokens())
          .setKl(m.meanKl())
          .setStudentPerplexity(m.studentPerplexity())
          .setTeacherPerplexity(m.teacherPerplexity())
          .setTop1Agreement(m.top1Agreement())
          .setGapRecovered(s.lastEval().gapRecovered())
          .setMeanAlpha(s.lastEval().meanAlpha()));
    }
    if (s.waiting() != null) {
      b.setWaitingFor(s.waiting().peers()).setWaitingSeconds(s.waiting().seconds())
          .setWaitingReason(s.waiting().reason());
    }
    return b.build();
  }
}
