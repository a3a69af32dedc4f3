package dev.graft.sync.subscribe;

import static dev.graft.sync.SyncFixtures.CONFIG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.graft.proto.v1.PolicyManifest;
import dev.graft.proto.v1.TensorDigest;
import dev.graft.retrofit.GqaRetrofit;
import dev.graft.retrofit.KvInit;
import dev.graft.retrofit.ModelSpec;
import dev.graft.sync.FakeInstaller;
import dev.graft.sync.FaultInjector;
import dev.graft.sync.PolicyUpdate;
import dev.graft.sync.SyncEvents;
import dev.graft.sync.SyncFixtures;
import dev.graft.sync.TensorEntry;
import dev.graft.sync.publish.PolicyGrpcService;
import dev.graft.sync.publish.WeightPublisher;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.lang.ref.Reference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The subscriber against the real policy service over an in-process channel, with faults injected
 * on the wire. Waits are on events and latches; backoff goes to a recording sleeper. One file
 * because every case shares one fixture (publisher, in-process server, fault injector).
 */
class WeightSubscriberTest {

  private static final String EMBED = "model.embed_tokens.weight";
  private final WeightPublisher publisher = new WeightPublisher();
  private final FaultInjector faults = new FaultInjector();
  private final FakeInstaller installer = new FakeInstaller();
  private final SyncEvents events = new SyncEvents();
  private final List<Duration> sleeps = Collections.synchronizedList(new ArrayList<>());
  private Server server;
  private ManagedChannel channel;
  private final List<WeightSubscriber> subscribers = new ArrayList<>();

  @BeforeEach
  void start() throws IOException {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name)
        .addService(ServerInterceptors.intercept(new PolicyGrpcService(publisher, 4096), faults))
        .build().start();
    channel = InProcessChannelBuilder.forName(name).build();
  }

  @AfterEach
  void stop() {
    subscribers.forEach(WeightSubscriber::close);
    channel.shutdownNow();
    server.shutdownNow();
  }

  private WeightSubscriber subscriber(PolicyInstaller target) {
    WeightSubscriber s = WeightSubscriber.builder().channel(channel).installer(target)
        .listener(events).sleeper(sleeps::add).maxAttemptsPerVersion(2)
        .backoff(Duration.ofMillis(100), Duration.ofMillis(400)).build();
    subscribers.add(s);
    return s.start();
  }

  private WeightSubscriber subscriberOnV1() throws Exception {
    publisher.publish(SyncFixtures.update(1, 1));
    WeightSubscriber s = subscriber(installer);
    events.expectInstalled(1);
    return s;
  }

  @Test
  void studentUnderRetrofit_travelsWithItsSpecAndAlphas_andEveryTensorOfItsState() throws Exception {
    ModelSpec spec = ModelSpec.retrofit(CONFIG, new GqaRetrofit(2, KvInit.MEAN_POOL, 5), new double[] {0.25, 1});
    Map<String, float[]> state = new java.util.LinkedHashMap<>();
    spec.tensorShapes().forEach((name, shape) -> {
      float[] v = new float[(int) TensorEntry.elementCount(shape)];
      java.util.Arrays.fill(v, name.hashCode() % 7);
      state.put(name, v);
    });
    publisher.publish(new PolicyUpdate(3, spec, state));
    subscriber(installer);
    events.expectInstalled(3);
    PolicyUpdate got = installer.installed().get(0);
    assertEquals(spec, got.spec());
    assertTrue(got.tensors().containsKey("model.layers.1.self_attn.teacher_k_proj.weight"));
    SyncFixtures.assertBitIdentical(state, got.tensors());
    publisher.publish(new PolicyUpdate(4, CONFIG, SyncFixtures.weights(2)));
    events.expectInstalled(4);
    assertEquals(ModelSpec.plain(CONFIG), installer.installed().get(1).spec(), "a plain checkpoint after a student");
  }

  @Test
  void firstVersion_isInstalledBitIdentical_andReady() throws Exception {
    Map<String, float[]> weights = SyncFixtures.weights(7);
    publisher.publish(new PolicyUpdate(1, CONFIG, weights));
    WeightSubscriber s = subscriber(installer);

    assertEquals(1, s.awaitFirstVersion(Duration.ofSeconds(10)));
    events.expectInstalled(1);
    PolicyUpdate got = installer.installed().get(0);
    assertEquals(CONFIG, got.config());
    SyncFixtures.assertBitIdentical(weights, got.tensors());
    SyncStats stats = s.stats();
    assertEquals(1, stats.versionsInstalled());
    assertEquals(4 * CONFIG.parameterCount(), stats.lastSyncBytes());
  }

  @Test
  void newerVersions_areInstalledInIncreasingOrder() throws Exception {
    WeightSubscriber s = subscriberOnV1();
    Map<String, float[]> v2 = SyncFixtures.weights(2);
    publisher.publish(new PolicyUpdate(2, CONFIG, v2));
    events.expectInstalled(2);
    publisher.publish(SyncFixtures.update(5, 5));
    events.expectInstalled(5);

    assertEquals(List.of(1L, 2L, 5L), installer.installedVersions());
    SyncFixtures.assertBitIdentical(v2, installer.installed().get(1).tensors());
    assertEquals(3, s.stats().versionsInstalled());
    assertEquals(5, s.stats().newestAnnounced());
    assertEquals(0, s.stats().rejected().values().stream().mapToLong(Long::longValue).sum());
  }

  @Test
  void lateSubscriber_fetchesTheCurrentVersion_andIsReadyOnlyAfterInstalling() throws Exception {
    publisher.publish(SyncFixtures.update(1, 1));
    publisher.publish(SyncFixtures.update(2, 2));
    installer.entered = new CountDownLatch(1);
    installer.gate = new CountDownLatch(1);
    WeightSubscriber s = subscriber(installer);
    CompletableFuture<Long> ready = s.ready();

    assertTrue(installer.entered.await(10, TimeUnit.SECONDS), "install started");
    assertFalse(ready.isDone(), "ready before the version is installed");
    installer.gate.countDown();
    assertEquals(2, ready.get(10, TimeUnit.SECONDS));
    assertEquals(List.of(2L), installer.installedVersions(), "went straight to the current version");
  }

  @Test
  void samplerAlreadyServingANewerVersion_skipsOlderOnes_andIsReady() throws Exception {
    FakeInstaller preloaded = new FakeInstaller(publisher.epoch(), 9);
    publisher.publish(SyncFixtures.update(3, 3));
    WeightSubscriber s = subscriber(preloaded);

    assertEquals(9, s.awaitFirstVersion(Duration.ofSeconds(10)));
    publisher.publish(SyncFixtures.update(10, 10));
    events.expectInstalled(10);
    assertEquals(List.of(10L), preloaded.installedVersions());
  }

  @Test
  void corruptChunkBytes_areRejectedByChecksum_andTheOldVersionStays() throws Exception {
    WeightSubscriber s = subscriberOnV1();
    faults.chunks = c -> c.getVersion() == 2 && c.getTensorName().equals(EMBED) && c.getOffset() == 0
        ? c.toBuilder().setData(flipFirstByte(c.getData())).build() : c;
    publisher.publish(SyncFixtures.update(2, 2));

    String message = events.expectRejected(2, RejectReason.CHECKSUM_MISMATCH).message();
    assertTrue(message.contains(EMBED), message);
    events.expectRejected(2, RejectReason.CHECKSUM_MISMATCH); // retried once, then gave up
    assertEquals(1, installer.currentVersion());
    assertEquals(List.of(Duration.ofMillis(100)), sleeps);
    assertEquals(2, s.stats().rejected(RejectReason.CHECKSUM_MISMATCH));
    MeterRegistry meters = new SimpleMeterRegistry();
    SubscriberMetrics exported = new SubscriberMetrics(s::stats);
    exported.bindTo(meters);
    assertEquals(2, meters.get("graft.sync.rejects").tag("reason", "checksum_mismatch").functionCounter().count());
    assertEquals(0, meters.get("graft.sync.rejects").tag("reason", "transport").functionCounter().count());
    assertEquals(RejectReason.values().length, meters.get("graft.sync.rejects").functionCounters().size());
    assertEquals(1, meters.get("graft.sync.fetch").functionTimer().count(), "version 1 was installed");
    Reference.reachabilityFence(exported);

    faults.chunks = c -> c;
    publisher.publish(SyncFixtures.update(3, 3));
    events.expectInstalled(3);
  }

  @Test
  void wrongChecksumInManifest_isRejected() throws Exception {
    subscriberOnV1();
    faults.manifests = m -> editTensor(m, "model.norm.weight",
        t -> t.setSha256("0".repeat(64)));
    publisher.publish(SyncFixtures.update(2, 2));

    events.expectRejected(2, RejectReason.CHECKSUM_MISMATCH);
    events.expectRejected(2, RejectReason.CHECKSUM_MISMATCH);
    assertEquals(List.of(1L), installer.installedVersions());
  }

  @Test
  void manifestMissingATensor_isRejectedAtOnce_withoutDownloading() throws Exception {
    subscriberOnV1();
    int fetches = faults.fetchesStarted.get();
    faults.manifests = m -> {
      PolicyManifest.Builder b = m.toBuilder().clearTensors();
      m.getTensorsList().stream().filter(t -> !t.getName().equals("model.norm.weight"))
          .forEach(b::addTensors);
      return b.setTotalBytes(m.getTotalBytes() - 4L * CONFIG.hiddenSize()).build();
    };
    publisher.publish(SyncFixtures.update(2, 2));

    String message = events.expectRejected(2, RejectReason.MISSING_TENSOR).message();
    assertTrue(message.contains("model.norm.weight"), message);
    faults.manifests = m -> m;
    publisher.publish(SyncFixtures.update(3, 3));
    events.expectInstalled(3);
    assertEquals(fetches + 1, faults.fetchesStarted.get(), "only version 3 was downloaded");
    assertEquals(List.of(1L, 3L), installer.installedVersions());
  }

  @Test
  void tensorMissingFromTheStream_isRejectedAsIncomplete() throws Exception {
    subscriberOnV1();
    faults.chunks = c -> c.getTensorName().equals("model.norm.weight") ? null : c;
    publisher.publish(SyncFixtures.update(2, 2));

    String message = events.expectRejected(2, RejectReason.INCOMPLETE).message();
    assertTrue(message.contains("model.norm.weight"), message);
    assertEquals(1, installer.currentVersion());
  }

  @Test
  void chunkAtTheWrongOffset_isRejectedAsMalformed() throws Exception {
    subscriberOnV1();
    faults.chunks = c -> c.getOffset() > 0 ? c.toBuilder().setOffset(c.getOffset() + 4).build() : c;
    publisher.publish(SyncFixtures.update(2, 2));

    events.expectRejected(2, RejectReason.MALFORMED_CHUNK);
    assertEquals(1, installer.currentVersion());
  }

  @Test
  void shapesThatDoNotMatchTheConfig_areRejected() throws Exception {
    subscriberOnV1();
    // The config now says 2 KV heads; the tensors are still laid out for 4.
    faults.manifests = m -> m.toBuilder()
        .setConfigJson(CONFIG.withNumKeyValueHeads(2).toJson()).build();
    publisher.publish(SyncFixtures.update(2, 2));

    String message = events.expectRejected(2, RejectReason.SHAPE_MISMATCH).message();
    assertTrue(message.contains("k_proj"), message);
    assertEquals(1, installer.currentVersion());
  }

  @Test
  void downloadDroppedMidStream_keepsTheOldVersion_thenARetrySucceeds() throws Exception {
    WeightSubscriber s = subscriberOnV1();
    faults.fetchesToBreak.set(1);
    Map<String, float[]> v2 = SyncFixtures.weights(2);
    publisher.publish(new PolicyUpdate(2, CONFIG, v2));

    String message = events.expectRejected(2, RejectReason.TRANSPORT).message();
    assertTrue(message.contains("UNAVAILABLE"), message);
    events.expectInstalled(2);
    assertEquals(List.of(Duration.ofMillis(100)), sleeps);
    SyncFixtures.assertBitIdentical(v2, installer.installed().get(1).tensors());
    assertEquals(1, s.stats().rejected(RejectReason.TRANSPORT));
  }

  @Test
  void downloadThatKeepsDropping_isGivenUp_untilTheNextVersion() throws Exception {
    subscriberOnV1();
    faults.fetchesToBreak.set(2);
    publisher.publish(SyncFixtures.update(2, 2));

    events.expectRejected(2, RejectReason.TRANSPORT);
    events.expectRejected(2, RejectReason.TRANSPORT);
    assertEquals(1, installer.currentVersion());
    publisher.publish(SyncFixtures.update(3, 3));
    events.expectInstalled(3);
    assertEquals(List.of(1L, 3L), installer.installedVersions());
  }

  @Test
  void installerRefusing_keepsTheOldVersion_andIsNotRetried() throws Exception {
    WeightSubscriber s = subscriberOnV1();
    installer.refuse = true;
    publisher.publish(SyncFixtures.update(2, 2));

    String message = events.expectRejected(2, RejectReason.INSTALLER_REJECTED).message();
    assertTrue(message.contains("do not fit"), message);
    installer.refuse = false;
    publisher.publish(SyncFixtures.update(3, 3));
    events.expectInstalled(3);
    assertEquals(List.of(1L, 3L), installer.installedVersions());
    assertEquals(1, s.stats().rejected(RejectReason.INSTALLER_REJECTED));
    assertTrue(sleeps.isEmpty(), "no retry of a refused version: " + sleeps);
  }

  @Test
  void droppedWatch_reconnectsAfterBackoff_andHearsLaterVersions() throws Exception {
    subscriberOnV1();
    faults.dropWatches();
    publisher.publish(SyncFixtures.update(2, 2));

    events.expectInstalled(2);
    assertEquals(List.of(Duration.ofMillis(100)), sleeps);
  }

  @Test
  void trainerUnreachable_reconnectsWithBoundedExponentialBackoff_andIsNotReady() throws Exception {
    CountDownLatch retries = new CountDownLatch(5);
    List<Duration> waits = Collections.synchronizedList(new ArrayList<>());
    String name = InProcessServerBuilder.generateName();
    ManagedChannel nowhere = InProcessChannelBuilder.forName(name).build();
    WeightSubscriber s = WeightSubscriber.builder().channel(nowhere).installer(installer)
        .listener(events).backoff(Duration.ofMillis(100), Duration.ofMillis(400))
        .sleeper(d -> {
          waits.add(d);
          retries.countDown();
        }).build();
    subscribers.add(s);
    s.start();
    try {
      assertTrue(retries.await(10, TimeUnit.SECONDS));
      assertEquals(List.of(100L, 200L, 400L, 400L, 400L),
          List.copyOf(waits).subList(0, 5).stream().map(Duration::toMillis).toList());
      assertFalse(s.ready().isDone());
    } finally {
      s.close();
      nowhere.shutdownNow();
    }
  }

  @Test
  void close_failsReady_andStopsTheThread() throws Exception {
    WeightSubscriber s = subscriber(installer); // nothing published: never ready
    s.close();
    assertThrows(IllegalStateException.class, () -> s.awaitFirstVersion(Duration.ofSeconds(10)));
    assertThrows(IllegalStateException.class, s::start);
  }

  @Test
  void syncDuration_isMeasuredWithTheInjectedTicker() throws Exception {
    AtomicLong now = new AtomicLong();
    publisher.publish(SyncFixtures.update(1, 1));
    WeightSubscriber s = WeightSubscriber.builder().channel(channel).installer(installer)
        .listener(events).nanoTicker(() -> now.getAndAdd(7_000_000)).build();
    subscribers.add(s);
    s.start();
    events.expectInstalled(1);
    assertEquals(Duration.ofMillis(7), s.stats().lastSyncDuration());
  }

  private static ByteString flipFirstByte(ByteString data) {
    byte[] b = data.toByteArray();
    b[0] ^= 0x01;
    return ByteString.copyFrom(b);
  }

  private static PolicyManifest editTensor(PolicyManifest m, String name,
      java.util.function.UnaryOperator<TensorDigest.Builder> edit) {
    PolicyManifest.Builder b = m.toBuilder();
    for (int i = 0; i < b.getTensorsCount(); i++) {
      if (b.getTensors(i).getName().equals(name)) {
        b.setTensors(i, edit.apply(b.getTensors(i).toBuilder()));
      }
    }
    return b.build();
  }
}
