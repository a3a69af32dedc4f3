package dev.graft.teacher.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.data.TokenBatch;
import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.GetModelInfoRequest;
import dev.graft.proto.v1.ModelInfo;
import dev.graft.proto.v1.ScoreChunk;
import dev.graft.proto.v1.TeacherServiceGrpc;
import dev.graft.teacher.FakeTeacher;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherClient;
import dev.graft.teacher.TeacherInfo;
import dev.graft.teacher.TeacherLimits;
import dev.graft.teacher.TeacherMismatchException;
import dev.graft.teacher.TeacherProtos;
import dev.graft.teacher.TeacherUnavailableException;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The client against a scripted in-process replica that serves a {@link FakeTeacher}. */
class TeacherClientTest {

  private static final int VOCAB = 50;
  private final FakeTeacher fake = new FakeTeacher(VOCAB, 3);
  private final ScriptedTeacher service = new ScriptedTeacher(fake);
  private final List<AutoCloseable> replicas = new ArrayList<>();
  private final List<Duration> sleeps = new ArrayList<>();
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void startServer() throws IOException {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor().addService(service).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  @AfterEach
  void stopServer() throws Exception {
    channel.shutdownNow();
    server.shutdownNow();
    for (AutoCloseable r : replicas) {
      r.close();
    }
  }

  /** Another in-process replica serving {@code service}; closed after the test. */
  private ManagedChannel replica(ScriptedTeacher service) throws IOException {
    String name = InProcessServerBuilder.generateName();
    Server s = InProcessServerBuilder.forName(name).directExecutor().addService(service).build().start();
    ManagedChannel c = InProcessChannelBuilder.forName(name).directExecutor().build();
    replicas.add(s::shutdownNow);
    replicas.add(c::shutdownNow);
    return c;
  }

  private TeacherClient.Builder options() {
    return TeacherClient.builder().sleeper(sleeps::add).backoff(Duration.ofMillis(10), Duration.ofMillis(25));
  }

  private TeacherClient client() {
    return client(channel);
  }

  private TeacherClient client(ManagedChannel... channels) {
    return options().channels(List.of(channels)).build();
  }

  @Test
  void score_reassemblesChunks_intoTheFakesAnswer() {
    service.chunkBytes = 1024;
    TokenBatch ids = TokenBatch.of(new int[][] {{1, 2, 3, 4}, {5, 6, 7, 8}});
    try (TeacherClient client = client()) {
      Scores.Full got = (Scores.Full) client.score(ids, new ScoreRequest.Full(1f));
      assertArrayEquals(((Scores.Full) fake.score(ids, new ScoreRequest.Full(1f))).logProbs(), got.logProbs());
    }
    assertTrue(service.chunksSent.get() > 1, "the answer came in several chunks");
  }

  @Test
  void score_resourceExhausted_isRetriedWithGrowingBackoff_thenSucceeds() {
    service.failures.add(Status.RESOURCE_EXHAUSTED);
    service.failures.add(Status.RESOURCE_EXHAUSTED);
    service.failures.add(Status.RESOURCE_EXHAUSTED);
    try (TeacherClient client = client()) {
      Scores s = client.score(TokenBatch.of(new int[][] {{1, 2}}), new ScoreRequest.TopK(3, 1f));
      assertEquals(2, s.length());
    }
    assertEquals(List.of(Duration.ofMillis(10), Duration.ofMillis(20), Duration.ofMillis(25)), sleeps);
    assertEquals(4, service.scoreCalls.get());
  }

  @Test
  void score_alwaysOverloaded_givesUpAfterMaxAttempts() {
    for (int i = 0; i < 10; i++) {
      service.failures.add(Status.RESOURCE_EXHAUSTED.withDescription("full"));
    }
    try (TeacherClient client = options().channels(List.of(channel)).maxAttempts(3).build()) {
      TeacherUnavailableException e = assertThrows(TeacherUnavailableException.class,
          () -> client.score(TokenBatch.of(new int[][] {{1}}), new ScoreRequest.Full(1f)));
      assertTrue(e.getMessage().contains("after 3 attempts") && e.getMessage().contains("full"),
          e.getMessage());
    }
    assertEquals(3, service.scoreCalls.get());
  }

  @Test
  void score_invalidArgument_becomesIllegalArgumentWithTheServersMessage() {
    try (TeacherClient client = client()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> client.score(TokenBatch.of(new int[][] {{VOCAB}}), new ScoreRequest.Full(1f)));
      assertTrue(e.getMessage().contains("token id 50"), e.getMessage());
    }
    assertEquals(1, service.scoreCalls.get(), "bad input is not retried");
  }

  @Test
  void score_otherFailure_isTeacherUnavailable_withoutRetry() {
    service.failures.add(Status.INTERNAL.withDescription("boom"));
    try (TeacherClient client = client()) {
      TeacherUnavailableException e = assertThrows(TeacherUnavailableException.class,
          () -> client.score(TokenBatch.of(new int[][] {{1}}), new ScoreRequest.Full(1f)));
      assertTrue(e.getMessage().contains("INTERNAL (boom)"), e.getMessage());
    }
    assertEquals(1, service.scoreCalls.get());
  }

  @Test
  void score_pastTheDeadline_isTeacherUnavailable() {
    service.hang = true;
    try (TeacherClient client = options().channels(List.of(channel)).deadline(Duration.ofMillis(100)).build()) {
      TeacherUnavailableException e = assertThrows(TeacherUnavailableException.class,
          () -> client.score(TokenBatch.of(new int[][] {{1}}), new ScoreRequest.Full(1f)));
      assertTrue(e.getMessage().contains("DEADLINE_EXCEEDED"), e.getMessage());
    }
  }

  @Test
  void score_malformedStream_isTeacherUnavailable() {
    service.skipFirstChunk = true;
    service.chunkBytes = 1024;
    try (TeacherClient client = client()) {
      TeacherUnavailableException e = assertThrows(TeacherUnavailableException.class,
          () -> client.score(TokenBatch.of(new int[][] {{1, 2, 3, 4, 5, 6, 7, 8}}), new ScoreRequest.Full(1f)));
      assertTrue(e.getMessage().contains("malformed"), e.getMessage());
    }
  }

  @Test
  void score_deadReplica_failsOverToTheNextOne() throws IOException {
    String dead = "localhost:" + freePort();
    try (TeacherClient client = options().endpoints(List.of(dead, dead)).maxAttempts(2).build()) {
      TeacherUnavailableException e = assertThrows(TeacherUnavailableException.class,
          () -> client.score(TokenBatch.of(new int[][] {{1}}), new ScoreRequest.Full(1f)));
      assertTrue(e.getMessage().contains(dead + " UNAVAILABLE"), e.getMessage());
    }
    assertEquals(List.of(Duration.ofMillis(10)), sleeps);
    try (LocalTeacher teacher = TestModels.teacher(32, 256);
        TeacherServer live = TeacherServer.builder().teacher(teacher).build().start();
        TeacherClient client = options()
            .endpoints(List.of(dead, "localhost:" + live.port())).build()) {
      for (int i = 0; i < 3; i++) { // round-robin starts on the dead replica at least once
        assertEquals(1, client.score(TokenBatch.of(new int[][] {{1, 2}}), new ScoreRequest.TopK(2, 1f)).batch());
      }
    }
    assertTrue(sleeps.size() >= 2, "the dead replica was tried and skipped: " + sleeps);
  }

  @Test
  void score_replicaDyingMidStream_isRetriedWholeOnAnother_withTheUninterruptedAnswer() throws IOException {
    ScriptedTeacher healthy = new ScriptedTeacher(fake);
    ManagedChannel second = replica(healthy);
    service.chunkBytes = 1024;
    healthy.chunkBytes = 1024;
    service.failAfterChunks = 2;
    TokenBatch ids = TokenBatch.of(new int[][] {{1, 2, 3, 4, 5, 6, 7, 8}, {9, 10, 11, 12, 13, 14, 15, 16}});
    Scores.Full uninterrupted;
    try (TeacherClient alone = client(second)) {
      uninterrupted = (Scores.Full) alone.score(ids, new ScoreRequest.Full(1f));
    }
    try (TeacherClient client = client(channel, second)) {
      Scores.Full got = (Scores.Full) client.score(ids, new ScoreRequest.Full(1f));
      assertArrayEquals(uninterrupted.logProbs(), got.logProbs());
      assertEquals(2, got.batch());
      assertEquals(8, got.length());
    }
    assertEquals(2, service.chunksSent.get(), "the first replica died two chunks in");
    assertEquals(1, service.scoreCalls.get());
    assertEquals(2, healthy.scoreCalls.get(), "the whole call again on the second replica");
    assertEquals(List.of(Duration.ofMillis(10)), sleeps);
  }

  @Test
  void info_isFetchedOnce_andCached() {
    try (TeacherClient client = client()) {
      assertEquals(VOCAB, client.info().vocabSize());
      assertEquals(fake.info().modelFingerprint(), client.info().modelFingerprint());
    }
    assertEquals(1, service.infoCalls.get());
  }

  @Test
  void start_replicasServingDifferentModels_isRefused_namingTheReplicaAndBothFingerprints() throws IOException {
    FakeTeacher other = new FakeTeacher(VOCAB, 4);
    ScriptedTeacher otherService = new ScriptedTeacher(other);
    ManagedChannel second = replica(otherService);
    try (TeacherClient client = options().channels(List.of(channel, second)).build()) {
      TeacherMismatchException e = assertThrows(TeacherMismatchException.class, client::info);
      assertTrue(e.getMessage().contains("teacher " + second.authority())
          && e.getMessage().contains(channel.authority())
          && e.getMessage().contains("model fingerprint " + other.info().modelFingerprint() + " vs "
              + fake.info().modelFingerprint()), e.getMessage());
    }
    try (TeacherClient client = options().channels(List.of(channel, second)).build()) {
      assertThrows(TeacherMismatchException.class,
          () -> client.score(TokenBatch.of(new int[][] {{1, 2}}), new ScoreRequest.Full(1f)));
    }
    assertEquals(0, service.scoreCalls.get() + otherService.scoreCalls.get(), "no replica got work");
  }

  @Test
  void start_replicasWithAnotherTokenizerOrVocabulary_areRefused() throws IOException {
    TeacherInfo mine = fake.info();
    ScriptedTeacher otherTokenizer = new ScriptedTeacher(fake);
    otherTokenizer.info = new TeacherInfo(mine.architecture(), mine.vocabSize(), "0123abcd",
        mine.modelFingerprint(), mine.maxSequenceLength(), mine.maxTokensPerRequest(), 0, 0);
    ScriptedTeacher otherVocab = new ScriptedTeacher(fake);
    otherVocab.info = new TeacherInfo(mine.architecture(), VOCAB + 14, mine.tokenizerFingerprint(),
        mine.modelFingerprint(), mine.maxSequenceLength(), mine.maxTokensPerRequest(), 0, 0);
    ManagedChannel tokenizerReplica = replica(otherTokenizer);
    ManagedChannel vocabReplica = replica(otherVocab);
    try (TeacherClient client = options().channels(List.of(channel, tokenizerReplica)).build()) {
      TeacherMismatchException e = assertThrows(TeacherMismatchException.class, client::info);
      assertTrue(e.getMessage().contains("tokenizer fingerprint 0123abcd vs (none)"), e.getMessage());
    }
    try (TeacherClient client = options().channels(List.of(channel, vocabReplica)).build()) {
      TeacherMismatchException e = assertThrows(TeacherMismatchException.class, client::info);
      assertTrue(e.getMessage().contains("vocabulary 64 vs 50"), e.getMessage());
    }
  }

  @Test
  void start_twoLoopbackServersWithDifferentModels_isRefused() throws IOException {
    try (LocalTeacher a = TestModels.teacher(32, 256);
        LocalTeacher b = new LocalTeacher(TestModels.otherModel(), new TeacherLimits(32, 256));
        TeacherServer first = TeacherServer.builder().teacher(a).build().start();
        TeacherServer second = TeacherServer.builder().teacher(b).build().start();
        TeacherClient client = options().endpoints(List.of("localhost:" + first.port(),
            "localhost:" + second.port())).build()) {
      TeacherMismatchException e = assertThrows(TeacherMismatchException.class, client::info);
      assertTrue(e.getMessage().contains("teacher localhost:" + second.port())
          && e.getMessage().contains(a.info().modelFingerprint())
          && e.getMessage().contains(b.info().modelFingerprint()), e.getMessage());
    }
  }

  @Test
  void score_answerCarryingAnotherModelsFingerprint_isRefused_neverReturned() {
    service.answerFingerprint = "f".repeat(64);
    service.chunkBytes = 1024;
    try (TeacherClient client = client()) {
      TeacherMismatchException e = assertThrows(TeacherMismatchException.class,
          () -> client.score(TokenBatch.of(new int[][] {{1, 2, 3, 4}}), new ScoreRequest.Full(1f)));
      assertTrue(e.getMessage().contains(channel.authority())
          && e.getMessage().contains("f".repeat(64))
          && e.getMessage().contains(fake.info().modelFingerprint()), e.getMessage());
    }
    assertEquals(1, service.scoreCalls.get());
  }

  @Test
  void replicaUnreachableAtStart_isCheckedBeforeItFirstGetsWork_andRefusedWhenItDisagrees()
      throws IOException {
    ScriptedTeacher late = new ScriptedTeacher(new FakeTeacher(VOCAB, 4));
    late.infoFailures.add(Status.UNAVAILABLE.withDescription("starting"));
    ManagedChannel lateChannel = replica(late);
    TokenBatch ids = TokenBatch.of(new int[][] {{1, 2}});
    try (TeacherClient client = client(channel, lateChannel)) {
      assertEquals(fake.info(), client.info(), "the replicas that answered agree");
      assertEquals(1, client.score(ids, new ScoreRequest.Full(1f)).batch()); // the first replica's turn
      TeacherMismatchException e = assertThrows(TeacherMismatchException.class,
          () -> client.score(ids, new ScoreRequest.Full(1f))); // the late replica's turn
      assertTrue(e.getMessage().contains("teacher " + lateChannel.authority()), e.getMessage());
    }
    assertEquals(2, late.infoCalls.get(), "asked at start, and again before its first work");
    assertEquals(0, late.scoreCalls.get(), "it never got work");
  }

  @Test
  void replicaUnreachableAtStart_thatAgrees_getsWorkOnceChecked() throws IOException {
    ScriptedTeacher late = new ScriptedTeacher(fake);
    late.infoFailures.add(Status.UNAVAILABLE.withDescription("starting"));
    ManagedChannel lateChannel = replica(late);
    TokenBatch ids = TokenBatch.of(new int[][] {{1, 2}});
    try (TeacherClient client = client(channel, lateChannel)) {
      for (int i = 0; i < 4; i++) {
        assertEquals(2, client.score(ids, new ScoreRequest.TopK(3, 1f)).length());
      }
    }
    assertEquals(2, late.infoCalls.get(), "checked once it answered, not again");
    assertEquals(2, late.scoreCalls.get());
    assertEquals(1, service.infoCalls.get());
  }

  @Test
  void builder_rejectsNoReplicaAndBadEndpoints() {
    assertThrows(IllegalArgumentException.class, () -> TeacherClient.builder().build());
    assertThrows(IllegalArgumentException.class,
        () -> TeacherClient.builder().endpoints(List.of("no-port")));
    assertThrows(IllegalArgumentException.class, () -> TeacherClient.builder()
        .endpoints(List.of("h:1")).valueType(DType.DTYPE_INT32).build());
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** A replica whose failures are scripted; when none is left it answers from its fake. */
  private static final class ScriptedTeacher extends TeacherServiceGrpc.TeacherServiceImplBase {
    final FakeTeacher fake;
    final Deque<Status> failures = new ArrayDeque<>();
    final Deque<Status> infoFailures = new ArrayDeque<>();
    final AtomicInteger scoreCalls = new AtomicInteger();
    final AtomicInteger infoCalls = new AtomicInteger();
    final AtomicInteger chunksSent = new AtomicInteger();
    volatile int chunkBytes = TeacherServerOptions.DEFAULT_CHUNK_BYTES;
    volatile boolean hang;
    volatile boolean skipFirstChunk;
    volatile TeacherInfo info; // what GetModelInfo says: the fake's unless set
    volatile String answerFingerprint; // what the chunks carry: info's fingerprint unless set
    volatile int failAfterChunks = -1; // >= 0: the stream fails UNAVAILABLE after this many chunks

    ScriptedTeacher(FakeTeacher fake) {
      this.fake = fake;
      this.info = fake.info();
    }

    @Override
    public void getModelInfo(GetModelInfoRequest request, StreamObserver<ModelInfo> response) {
      infoCalls.incrementAndGet();
      Status failure = infoFailures.poll();
      if (failure != null) {
        response.onError(failure.asRuntimeException());
        return;
      }
      response.onNext(TeacherProtos.modelInfo(info, chunkBytes));
      response.onCompleted();
    }

    @Override
    public void score(dev.graft.proto.v1.ScoreRequest request, StreamObserver<ScoreChunk> response) {
      scoreCalls.incrementAndGet();
      Status failure = failures.poll();
      if (failure != null) {
        response.onError(failure.asRuntimeException());
        return;
      }
      if (hang) {
        return;
      }
      try {
        TeacherProtos.Decoded d = TeacherProtos.decode(request);
        String fingerprint = answerFingerprint != null ? answerFingerprint : info.modelFingerprint();
        ScoreChunker chunks = new ScoreChunker(fake.score(d.tokens(), d.request()), d.valueType(),
            fake.info().vocabSize(), chunkBytes, fingerprint);
        if (skipFirstChunk) {
          chunks.next();
        }
        for (int sent = 0; chunks.hasNext(); sent++) {
          if (sent == failAfterChunks) {
            response.onError(Status.UNAVAILABLE.withDescription("replica died").asRuntimeException());
            return;
          }
          response.onNext(chunks.next());
          chunksSent.incrementAndGet();
        }
        response.onCompleted();
      } catch (IllegalArgumentException e) {
        response.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
      }
    }
  }
}
