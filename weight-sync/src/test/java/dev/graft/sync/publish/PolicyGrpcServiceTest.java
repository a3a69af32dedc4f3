package dev.graft.sync.publish;

import static dev.graft.sync.SyncFixtures.CONFIG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.model.LlamaConfig;
import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.FetchWeightsRequest;
import dev.graft.proto.v1.GetManifestRequest;
import dev.graft.proto.v1.PolicyManifest;
import dev.graft.proto.v1.PolicyServiceGrpc;
import dev.graft.proto.v1.PolicyVersionAnnouncement;
import dev.graft.proto.v1.WatchVersionsRequest;
import dev.graft.proto.v1.WeightChunk;
import dev.graft.sync.PolicyUpdate;
import dev.graft.sync.SyncFixtures;
import dev.graft.sync.TensorEntry;
import dev.graft.sync.VersionManifest;
import dev.graft.sync.subscribe.WeightAssembler;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code graft.v1.PolicyService} through a real in-process channel. */
class PolicyGrpcServiceTest {

  private static final int CHUNK_BYTES = 2048;
  private final WeightPublisher publisher = new WeightPublisher();
  private PolicyGrpcService service;
  private Server server;
  private ManagedChannel channel;
  private PolicyServiceGrpc.PolicyServiceBlockingStub stub;

  @BeforeEach
  void start() throws IOException {
    String name = InProcessServerBuilder.generateName();
    service = new PolicyGrpcService(publisher, CHUNK_BYTES);
    server = InProcessServerBuilder.forName(name).addService(service).build().start();
    channel = InProcessChannelBuilder.forName(name).build();
    stub = PolicyServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  @Test
  void getManifest_describesConfigAndEveryTensor() {
    VersionManifest published = publisher.publish(SyncFixtures.update(3, 1));
    PolicyManifest m = stub.getManifest(GetManifestRequest.newBuilder().setVersion(3).build());

    assertEquals(3, m.getVersion());
    assertEquals(CONFIG, LlamaConfig.fromJson(m.getConfigJson()));
    assertEquals(published.totalBytes(), m.getTotalBytes());
    assertEquals(published.tensors().size(), m.getTensorsCount());
    for (int i = 0; i < m.getTensorsCount(); i++) {
      TensorEntry want = published.tensors().get(i);
      assertEquals(want.name(), m.getTensors(i).getName());
      assertEquals(want.shape(), m.getTensors(i).getShapeList());
      assertEquals(DType.DTYPE_FLOAT32, m.getTensors(i).getDtype());
      assertEquals(want.sha256(), m.getTensors(i).getSha256());
    }
  }

  @Test
  void fetchWeights_streamsEveryTensorInConsecutiveBudgetedChunks_thatRebuildItBitExactly() {
    Map<String, float[]> weights = SyncFixtures.weights(4);
    VersionManifest m = publisher.publish(new PolicyUpdate(1, CONFIG, weights));
    WeightAssembler assembler = new WeightAssembler(m);
    List<String> order = new ArrayList<>();
    int chunks = 0;
    Iterator<WeightChunk> it = stub.fetchWeights(FetchWeightsRequest.newBuilder().setVersion(1).build());
    while (it.hasNext()) {
      WeightChunk c = it.next();
      chunks++;
      assertTrue(c.getSerializedSize() <= CHUNK_BYTES, "chunk of " + c.getSerializedSize() + " bytes");
      if (c.getOffset() == 0) {
        order.add(c.getTensorName());
      }
      assembler.accept(c.getVersion(), c.getTensorName(), c.getOffset(),
          c.getData().asReadOnlyByteBuffer(), c.getLast());
    }
    SyncFixtures.assertBitIdentical(weights, assembler.finish().tensors());
    assertEquals(List.copyOf(CONFIG.tensorShapes().keySet()), order);
    assertTrue(chunks > m.tensors().size(), "large tensors span several chunks: " + chunks);
  }

  @Test
  void fetchWeights_namedTensors_comeInTheRequestedOrder() {
    publisher.publish(SyncFixtures.update(1, 1));
    List<String> names = List.of("model.norm.weight", "model.layers.1.input_layernorm.weight");
    List<String> got = new ArrayList<>();
    stub.fetchWeights(FetchWeightsRequest.newBuilder().setVersion(1).addAllTensorNames(names).build())
        .forEachRemaining(c -> {
          if (c.getLast()) {
            got.add(c.getTensorName());
          }
        });
    assertEquals(names, got);
  }

  @Test
  void versionsNotKept_areFailedPreconditionWhenEvicted_andNotFoundWhenUnpublished() {
    for (long v = 1; v <= 3; v++) {
      publisher.publish(SyncFixtures.update(v, v));
    }
    StatusRuntimeException evicted = assertThrows(StatusRuntimeException.class,
        () -> stub.getManifest(GetManifestRequest.newBuilder().setVersion(1).build()));
    assertEquals(Status.Code.FAILED_PRECONDITION, evicted.getStatus().getCode());
    assertTrue(evicted.getStatus().getDescription().contains("kept: [2, 3]"),
        evicted.getStatus().getDescription());
    assertCode(Status.Code.FAILED_PRECONDITION, () -> stub.fetchWeights(
        FetchWeightsRequest.newBuilder().setVersion(1).build()).hasNext());
    assertCode(Status.Code.NOT_FOUND,
        () -> stub.getManifest(GetManifestRequest.newBuilder().setVersion(4).build()));
    assertCode(Status.Code.NOT_FOUND, () -> stub.fetchWeights(
        FetchWeightsRequest.newBuilder().setVersion(9).build()).hasNext());
  }

  @Test
  void badRequests_areInvalidArgument() {
    publisher.publish(SyncFixtures.update(1, 1));
    assertCode(Status.Code.INVALID_ARGUMENT,
        () -> stub.getManifest(GetManifestRequest.newBuilder().setVersion(-2).build()));
    assertCode(Status.Code.INVALID_ARGUMENT, () -> stub.fetchWeights(FetchWeightsRequest.newBuilder()
        .setVersion(1).addTensorNames("model.nope.weight").build()).hasNext());
    assertCode(Status.Code.INVALID_ARGUMENT, () -> stub.fetchWeights(FetchWeightsRequest.newBuilder()
        .setVersion(1).addTensorNames("model.norm.weight").addTensorNames("model.norm.weight")
        .build()).hasNext());
  }

  @Test
  void fetchWeights_ofAVersionEvictedMidStream_stillFinishes() {
    Map<String, float[]> weights = SyncFixtures.weights(1);
    VersionManifest m = publisher.publish(new PolicyUpdate(1, CONFIG, weights));
    WeightAssembler assembler = new WeightAssembler(m);
    Iterator<WeightChunk> it = stub.fetchWeights(FetchWeightsRequest.newBuilder().setVersion(1).build());
    WeightChunk first = it.next();
    publisher.publish(SyncFixtures.update(2, 2));
    publisher.publish(SyncFixtures.update(3, 3));
    assertEquals(List.of(2L, 3L), publisher.keptVersions());

    for (WeightChunk c = first; c != null; c = it.hasNext() ? it.next() : null) {
      assembler.accept(c.getVersion(), c.getTensorName(), c.getOffset(),
          c.getData().asReadOnlyByteBuffer(), c.getLast());
    }
    SyncFixtures.assertBitIdentical(weights, assembler.finish().tensors());
  }

  @Test
  void watchVersions_announcesTheNewestAtOnce_thenEachNewOne_skippingAfterVersion() throws Exception {
    publisher.publish(SyncFixtures.update(1, 1));
    Watcher fresh = watch(-1, 16);
    Watcher upToDate = watch(1, 16);
    assertEquals(1, fresh.next().getVersion());

    VersionManifest two = publisher.publish(SyncFixtures.update(2, 2));
    PolicyVersionAnnouncement a = fresh.next();
    assertEquals(2, a.getVersion());
    assertEquals(two.tensors().size(), a.getTensorCount());
    assertEquals(two.totalBytes(), a.getTotalBytes());
    assertEquals(1, a.getOldestKeptVersion());
    assertEquals(2, upToDate.next().getVersion(), "version 1 was not announced to it");
  }

  @Test
  void anotherRunsEpoch_isNotFound_andAWatchNamingIt_getsTheNewestAtOnce() throws Exception {
    publisher.publish(SyncFixtures.update(1, 1));
    publisher.publish(SyncFixtures.update(2, 2));
    long foreign = publisher.epoch() + 1;
    assertCode(Status.Code.NOT_FOUND, () -> stub.getManifest(
        GetManifestRequest.newBuilder().setEpoch(foreign).setVersion(2).build()));
    assertCode(Status.Code.NOT_FOUND, () -> stub.fetchWeights(
        FetchWeightsRequest.newBuilder().setEpoch(foreign).setVersion(2).build()).next());
    assertEquals(publisher.epoch(), stub.getManifest(GetManifestRequest.newBuilder()
        .setEpoch(publisher.epoch()).setVersion(2).build()).getEpoch());

    // A subscriber of a previous run that had seen version 70 must still get this run's newest.
    Watcher w = new Watcher(16);
    PolicyServiceGrpc.newStub(channel).watchVersions(WatchVersionsRequest.newBuilder()
        .setAfterEpoch(foreign).setAfterVersion(70).build(), w);
    PolicyVersionAnnouncement a = w.next();
    assertEquals(2, a.getVersion());
    assertEquals(publisher.epoch(), a.getEpoch());
  }

  @Test
  void watchVersions_slowReader_getsOnlyTheNewestVersion_whenItReadsAgain() throws Exception {
    publisher.publish(SyncFixtures.update(1, 1));
    Watcher slow = watch(-1, 0); // reads nothing yet: the server may not write
    for (long v = 2; v <= 5; v++) {
      publisher.publish(SyncFixtures.update(v, v));
    }
    slow.call.request(1);
    assertEquals(5, slow.next().getVersion());
    slow.call.request(1);
    publisher.publish(SyncFixtures.update(6, 6));
    assertEquals(6, slow.next().getVersion());
  }

  @Test
  void endWatches_endsOpenStreamsWithUnavailable_andRefusesNewOnes() throws Exception {
    Watcher w = watch(-1, 16);
    service.endWatches();
    assertEquals(Status.Code.UNAVAILABLE, w.awaitEnd().getCode());
    assertEquals(Status.Code.UNAVAILABLE, watch(-1, 16).awaitEnd().getCode());
  }

  private static void assertCode(Status.Code code, Runnable call) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run);
    assertEquals(code, e.getStatus().getCode(), String.valueOf(e.getStatus()));
    assertFalse(e.getStatus().getDescription() == null || e.getStatus().getDescription().isEmpty());
  }

  private Watcher watch(long after, int initialRequests) {
    Watcher w = new Watcher(initialRequests);
    PolicyServiceGrpc.newStub(channel).watchVersions(
        WatchVersionsRequest.newBuilder()
            .setAfterEpoch(publisher.epoch()).setAfterVersion(after).build(), w);
    return w;
  }

  /** A watch client with manual flow control. */
  private static final class Watcher
      implements ClientResponseObserver<WatchVersionsRequest, PolicyVersionAnnouncement> {
    final BlockingQueue<PolicyVersionAnnouncement> got = new LinkedBlockingQueue<>();
    final BlockingQueue<Status> end = new LinkedBlockingQueue<>();
    final int initialRequests;
    ClientCallStreamObserver<WatchVersionsRequest> call;

    Watcher(int initialRequests) {
      this.initialRequests = initialRequests;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<WatchVersionsRequest> requestStream) {
      call = requestStream;
      requestStream.disableAutoRequestWithInitial(initialRequests);
    }

    PolicyVersionAnnouncement next() throws InterruptedException {
      PolicyVersionAnnouncement a = got.poll(10, TimeUnit.SECONDS);
      assertNotNull(a, "no announcement within 10 s");
      return a;
    }

    Status awaitEnd() throws InterruptedException {
      Status s = end.poll(10, TimeUnit.SECONDS);
      assertNotNull(s, "the stream did not end within 10 s");
      return s;
    }

    @Override
    public void onNext(PolicyVersionAnnouncement value) {
      got.add(value);
    }

    @Override
    public void onError(Throwable t) {
      end.add(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      end.add(Status.OK);
    }
  }
}
