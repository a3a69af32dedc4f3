package dev.graft.sync.subscribe;

import static dev.graft.sync.SyncFixtures.CONFIG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.proto.v1.DType;
import dev.graft.proto.v1.PolicyManifest;
import dev.graft.proto.v1.TensorDigest;
import dev.graft.service.Backoff;
import dev.graft.sync.FakeInstaller;
import dev.graft.sync.PolicyBytes;
import dev.graft.sync.PolicyProtos;
import dev.graft.sync.SyncFixtures;
import dev.graft.sync.TensorEntry;
import dev.graft.sync.VersionManifest;
import dev.graft.sync.publish.WeightPublisher;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Verification on the sampler's side, without a network: manifests and chunk sequences. */
class WeightAssemblerTest {

  private static final String NORM = "model.norm.weight"; // 64 floats = 256 bytes
  private final WeightPublisher publisher = new WeightPublisher();
  private final VersionManifest manifest = publisher.publish(SyncFixtures.update(4, 1));
  private final Map<String, byte[]> packed = packed(manifest);
  private final byte[] norm = packed.get(NORM);

  /** Every tensor of the fixture as the publisher packs it, in manifest order. */
  private static Map<String, byte[]> packed(VersionManifest m) {
    Map<String, float[]> weights = SyncFixtures.weights(1);
    Map<String, byte[]> out = new java.util.LinkedHashMap<>();
    m.tensors().forEach(t -> out.put(t.name(), PolicyBytes.pack(weights.get(t.name()))));
    return out;
  }

  private static ByteBuffer slice(byte[] b, int from, int to) {
    return ByteBuffer.wrap(b, from, to - from).slice();
  }

  private RejectReason rejection(Runnable r) {
    return assertThrows(SyncRejectedException.class, r::run).reason();
  }

  @Test
  void chunksOutOfPlace_areMalformed() {
    WeightAssembler a = new WeightAssembler(manifest);
    assertMalformedChunk(() -> a.accept(3, NORM, 0, slice(norm, 0, 8), false)); // other version
    assertMalformedChunk(() -> a.accept(4, "model.x", 0, slice(norm, 0, 8), false)); // unknown
    assertMalformedChunk(() -> a.accept(4, NORM, 8, slice(norm, 8, 16), false)); // a gap
    assertMalformedChunk(() -> a.accept(4, NORM, 0, slice(norm, 0, 6), false)); // half a float
    assertMalformedChunk(() -> a.accept(4, NORM, 0, slice(norm, 0, 0), false)); // empty
  }

  private void assertMalformedChunk(Runnable r) {
    assertEquals(RejectReason.MALFORMED_CHUNK, rejection(r));
  }

  @Test
  void lastFlag_mustMarkExactlyTheFinalChunk_andNothingMayFollow() {
    WeightAssembler early = new WeightAssembler(manifest);
    assertEquals(RejectReason.MALFORMED_CHUNK,
        rejection(() -> early.accept(4, NORM, 0, slice(norm, 0, 128), true)));
    WeightAssembler late = new WeightAssembler(manifest);
    assertEquals(RejectReason.MALFORMED_CHUNK,
        rejection(() -> late.accept(4, NORM, 0, slice(norm, 0, 256), false)));
    WeightAssembler twice = new WeightAssembler(manifest);
    twice.accept(4, NORM, 0, slice(norm, 0, 256), true);
    assertEquals(RejectReason.MALFORMED_CHUNK,
        rejection(() -> twice.accept(4, NORM, 256, slice(norm, 0, 4), true)));
  }

  @Test
  void finish_withTensorsMissing_isIncomplete_namingThem() {
    WeightAssembler a = new WeightAssembler(manifest);
    packed.forEach((name, bytes) -> {
      if (!name.equals(NORM)) {
        a.accept(4, name, 0, slice(bytes, 0, bytes.length), true);
      }
    });
    a.accept(4, NORM, 0, slice(norm, 0, 128), false);
    SyncRejectedException e = assertThrows(SyncRejectedException.class, a::finish);
    assertEquals(RejectReason.INCOMPLETE, e.reason());
    assertTrue(e.getMessage().contains("1 of 21 tensors incomplete: [model.norm.weight (128/256 bytes)]"),
        e.getMessage());
  }

  @Test
  void manifestWithATensorTheConfigLacks_isUnexpected() {
    List<TensorEntry> tensors = new ArrayList<>(manifest.tensors());
    tensors.add(new TensorEntry("model.layers.7.extra", List.of(2L), 8, "0".repeat(64)));
    VersionManifest bad = new VersionManifest(manifest.epoch(), 4, CONFIG, tensors, manifest.totalBytes() + 8,
        manifest.publishedAt());
    assertEquals(RejectReason.UNEXPECTED_TENSOR, rejection(() -> new WeightAssembler(bad)));
  }

  @Test
  void malformedManifests_areRefusedWhileReading() {
    PolicyManifest good = PolicyProtos.toProto(manifest);
    assertEquals(4, ManifestReader.read(good, 4).version());
    assertMalformed(good, 5, m -> m);
    assertMalformed(good, 4, m -> m.toBuilder().setConfigJson("{\"model_type\": \"gpt2\"}").build());
    assertMalformed(good, 4, m -> editFirst(m, t -> t.setDtype(DType.DTYPE_FLOAT16)));
    assertMalformed(good, 4, m -> editFirst(m, t -> t.setByteLength(t.getByteLength() - 4)));
    assertMalformed(good, 4, m -> editFirst(m, t -> t.setSha256("ABC")));
    assertMalformed(good, 4, m -> m.toBuilder().addTensors(m.getTensors(0)).build());
    assertMalformed(good, 4, m -> m.toBuilder().setTotalBytes(m.getTotalBytes() + 1).build());
  }

  @Test
  void backoff_doublesFromInitial_upToTheCap() {
    WeightSubscriberOptions o = new WeightSubscriberOptions(new FakeInstaller(),
        new Backoff(Duration.ofMillis(50), Duration.ofMillis(300)), 3, Duration.ofSeconds(1),
        Duration.ofSeconds(1), Duration.ofSeconds(1), d -> { }, System::nanoTime,
        new SyncListener() { });
    assertEquals(List.of(50L, 100L, 200L, 300L, 300L),
        List.of(1, 2, 3, 4, 40).stream().map(n -> o.backoff().delay(n).toMillis()).toList());
    assertThrows(IllegalArgumentException.class, () -> WeightSubscriber.builder()
        .installer(new FakeInstaller()).build());
    assertThrows(IllegalArgumentException.class, () -> WeightSubscriber.builder().endpoint("nohost"));
  }

  private static void assertMalformed(PolicyManifest good, long version,
      UnaryOperator<PolicyManifest> edit) {
    SyncRejectedException e = assertThrows(SyncRejectedException.class,
        () -> ManifestReader.read(edit.apply(good), version));
    assertEquals(RejectReason.MALFORMED_MANIFEST, e.reason(), e.getMessage());
  }

  private static PolicyManifest editFirst(PolicyManifest m, UnaryOperator<TensorDigest.Builder> f) {
    return m.toBuilder().setTensors(0, f.apply(m.getTensors(0).toBuilder())).build();
  }
}
