package dev.graft.teacher.server;

import static dev.graft.teacher.server.TestModels.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.data.TokenBatch;
import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.ScoreChunk;
import dev.graft.proto.v1.TeacherServiceGrpc;
import dev.graft.service.CallProbe;
import dev.graft.service.ManualReader;
import dev.graft.service.SlowClientLink;
import dev.graft.teacher.ChunkAssembler;
import dev.graft.teacher.ScoreRequest;
import dev.graft.teacher.Scores;
import dev.graft.teacher.TeacherProtos;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Score against a client that reads slowly or cancels, over Netty on loopback: the server writes
 * only while the call is ready, and a cancelled call gives its batcher capacity back.
 */
class TeacherFlowControlTest {

  private static final int CHUNK_BYTES = 1024;
  private static final int MAY_BE_UNREAD = SlowClientLink.MAY_BE_UNREAD;
  private static final Duration WAIT = Duration.ofSeconds(60);

  private final LocalTeacher teacher = TestModels.teacher(64, 1024);
  private final List<ScoreBatcher.BatchStats> batches = new CopyOnWriteArrayList<>();
  private final CountDownLatch queued = new CountDownLatch(1);
  private ScoreBatcher batcher;
  private ExecutorService executor;
  private SlowClientLink link;
  private CallProbe probe;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    batcher = new ScoreBatcher(teacher, new ScoreBatcher.Options(1024, 1024, Duration.ZERO));
    batcher.addListener(new ScoreBatcher.Listener() {
      @Override
      public void onQueued(int depth) {
        queued.countDown();
      }

      @Override
      public void onBatch(ScoreBatcher.BatchStats stats) {
        batches.add(stats);
      }
    });
    executor = Executors.newCachedThreadPool();
    TeacherGrpcService service = new TeacherGrpcService(batcher, CHUNK_BYTES, new TeacherMetrics(), executor);
    link = new SlowClientLink(service, executor);
    probe = link.probe();
    channel = link.channel();
  }

  @AfterEach
  void stop() throws Exception {
    link.close();
    batcher.close();
    executor.shutdownNow();
  }

  private ManualReader<dev.graft.proto.v1.ScoreRequest, ScoreChunk> score(TokenBatch ids, ScoreRequest request) {
    ManualReader<dev.graft.proto.v1.ScoreRequest, ScoreChunk> reader = new ManualReader<>();
    TeacherServiceGrpc.newStub(channel).score(TeacherProtos.encode(ids, request, DType.DTYPE_FLOAT32), reader);
    return reader;
  }

  @Test
  void slowClient_serverStopsWritingWhileItReadsNothing_thenEverythingArrivesWhenItReads() throws Exception {
    TokenBatch ids = tokens(4, 32, 1);
    ScoreRequest full = new ScoreRequest.Full(1f);
    Scores.Full expected = (Scores.Full) teacher.score(ids, full);
    List<ScoreChunk> answer = chunks(expected);
    long answerBytes = answer.stream().mapToLong(ScoreChunk::getSerializedSize).sum();
    assertTrue(answerBytes > 4 * MAY_BE_UNREAD, "the answer must dwarf what may be in flight: " + answerBytes);

    var reader = score(ids, full);
    assertTrue(probe.awaitStalledOrClosed(WAIT), "the server neither found the call unready nor finished");
    long written = probe.bytesBeforeLast();
    assertFalse(probe.closed(), "the server wrote all " + probe.messages() + " chunks to a client that read none");
    assertTrue(written <= MAY_BE_UNREAD, written + " bytes written to a client that read none (at most "
        + MAY_BE_UNREAD + " of " + answerBytes + " expected)");
    assertEquals(List.of(), reader.received());

    reader.request(Integer.MAX_VALUE);
    assertEquals(Status.Code.OK, reader.awaitEnd(WAIT).getCode());
    assertEquals(answer.size(), reader.received().size());
    ChunkAssembler assembler = new ChunkAssembler(4, 32, full);
    reader.received().forEach(assembler::accept);
    assertArrayEquals(expected.logProbs(), ((Scores.Full) assembler.finish()).logProbs());
    assertEquals(answer.size(), probe.messages());
    assertEquals(0, batcher.reservedTokens(), "a finished call gives its capacity back");
  }

  @Test
  void cancelWhileQueued_givesTheBatcherCapacityBack_andTheRequestNeverRuns() throws Exception {
    batcher.pause();
    var reader = score(tokens(16, 64, 1), new ScoreRequest.Full(1f));
    assertTrue(queued.await(WAIT.toSeconds(), TimeUnit.SECONDS));
    assertEquals(1024, batcher.reservedTokens(), "the request holds the whole capacity");

    reader.cancel();
    assertTrue(probe.awaitCancelled(WAIT), "the server never saw the cancellation");
    assertEquals(0, batcher.reservedTokens(), "the cancelled call still holds capacity");
    assertEquals(Status.Code.CANCELLED, reader.awaitEnd(WAIT).getCode());

    batcher.resume();
    TokenBatch next = tokens(16, 64, 2);
    Iterable<ScoreChunk> answer = () -> TeacherServiceGrpc.newBlockingStub(channel).score(TeacherProtos.encode(
        next, new ScoreRequest.Targets(next, 1f), DType.DTYPE_FLOAT32));
    ChunkAssembler assembler = new ChunkAssembler(16, 64, new ScoreRequest.Targets(next, 1f));
    answer.forEach(assembler::accept);
    assertEquals(16, assembler.finish().batch(), "a request of the full capacity is admitted again");
    assertEquals(List.of(new ScoreBatcher.BatchStats(1, 16, 1024, 1024)), batches,
        "only the second request ran");
  }

  @Test
  void cancelMidStream_bySlowClient_givesTheBatcherCapacityBack() throws Exception {
    var reader = score(tokens(16, 64, 1), new ScoreRequest.Full(1f));
    assertTrue(probe.awaitStalledOrClosed(WAIT));
    assertFalse(probe.closed());
    assertEquals(1024, batcher.reservedTokens(), "a streaming answer holds its capacity");

    reader.cancel();
    assertTrue(probe.awaitCancelled(WAIT), "the server never saw the cancellation");
    assertEquals(0, batcher.reservedTokens(), "the cancelled call still holds capacity");
  }

  private List<ScoreChunk> chunks(Scores scores) {
    List<ScoreChunk> out = new java.util.ArrayList<>();
    new ScoreChunker(scores, DType.DTYPE_FLOAT32, TestModels.VOCAB, CHUNK_BYTES,
        teacher.info().modelFingerprint()).forEachRemaining(out::add);
    return out;
  }
}
