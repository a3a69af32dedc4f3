package dev.graft.sync.publish;

import static dev.graft.sync.SyncFixtures.CONFIG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.sync.PolicyBytes;
import dev.graft.sync.PolicyUpdate;
import dev.graft.sync.SyncFixtures;
import dev.graft.sync.TensorEntry;
import dev.graft.sync.VersionManifest;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The publisher alone: snapshots, checksums, monotonic versions, retention, watchers. */
class WeightPublisherTest {

  private static final Instant NOW = Instant.parse("2025-01-02T03:04:05Z");
  private final WeightPublisher publisher = new WeightPublisher(77, 2, Clock.fixed(NOW, ZoneOffset.UTC));

  @Test
  void publish_snapshotsTheTensors_soLaterTrainingDoesNotChangeThePublishedVersion() {
    Map<String, float[]> weights = SyncFixtures.weights(1);
    float[] embed = weights.get("model.embed_tokens.weight");
    byte[] before = PolicyBytes.pack(embed);
    publisher.publish(new PolicyUpdate(0, CONFIG, weights));

    embed[5] += 1f; // the trainer keeps training in place
    assertArrayEquals(before, publisher.find(0).bytes().get("model.embed_tokens.weight"));
  }

  @Test
  void publish_listsEveryTensorInConfigOrder_withSha256OfItsLittleEndianBytes() throws Exception {
    Map<String, float[]> weights = SyncFixtures.weights(2);
    VersionManifest m = publisher.publish(new PolicyUpdate(7, CONFIG, weights));

    assertEquals(7, m.version());
    assertEquals(NOW, m.publishedAt());
    assertEquals(List.copyOf(CONFIG.tensorShapes().keySet()),
        m.tensors().stream().map(TensorEntry::name).toList());
    long total = 0;
    for (TensorEntry t : m.tensors()) {
      float[] values = weights.get(t.name());
      ByteBuffer le = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
      for (float v : values) {
        le.putInt(Float.floatToRawIntBits(v));
      }
      String expected = HexFormat.of().formatHex(
          MessageDigest.getInstance("SHA-256").digest(le.array()));
      assertEquals(expected, t.sha256(), t.name());
      assertEquals(CONFIG.tensorShapes().get(t.name()), t.shape());
      assertEquals(4L * values.length, t.byteLength());
      total += t.byteLength();
    }
    assertEquals(total, m.totalBytes());
    assertEquals(4 * CONFIG.parameterCount(), total);
  }

  @Test
  void publish_versionNotGreaterThanTheNewest_isRefused_andTheNewestStays() {
    publisher.publish(SyncFixtures.update(5, 1));

    var same = assertThrows(IllegalArgumentException.class,
        () -> publisher.publish(SyncFixtures.update(5, 2)));
    assertTrue(same.getMessage().contains("must be greater than the newest published version (5)"),
        same.getMessage());
    assertThrows(IllegalArgumentException.class, () -> publisher.publish(SyncFixtures.update(4, 2)));
    assertThrows(IllegalArgumentException.class, () -> publisher.publish(SyncFixtures.update(-1, 2)));
    assertEquals(5, publisher.latestVersion());
    assertEquals(List.of(5L), publisher.keptVersions());
  }

  @Test
  void publish_tensorsThatDoNotFitTheConfig_areRefusedByName() {
    Map<String, float[]> missing = new LinkedHashMap<>(SyncFixtures.weights(1));
    missing.remove("model.norm.weight");
    var e1 = assertThrows(IllegalArgumentException.class,
        () -> publisher.publish(new PolicyUpdate(0, CONFIG, missing)));
    assertTrue(e1.getMessage().contains("model.norm.weight"), e1.getMessage());

    Map<String, float[]> extra = new LinkedHashMap<>(SyncFixtures.weights(1));
    extra.put("model.layers.9.mlp.up_proj.weight", new float[4]);
    var e2 = assertThrows(IllegalArgumentException.class,
        () -> publisher.publish(new PolicyUpdate(0, CONFIG, extra)));
    assertTrue(e2.getMessage().contains("model.layers.9.mlp.up_proj.weight"), e2.getMessage());

    Map<String, float[]> shortTensor = new LinkedHashMap<>(SyncFixtures.weights(1));
    shortTensor.put("model.norm.weight", new float[63]);
    var e3 = assertThrows(IllegalArgumentException.class,
        () -> publisher.publish(new PolicyUpdate(0, CONFIG, shortTensor)));
    assertTrue(e3.getMessage().contains("63 values"), e3.getMessage());
    assertEquals(-1, publisher.latestVersion());
  }

  @Test
  void publish_keepsTheNewestVersions_andTellsEvictedFromUnpublished() {
    for (long v = 1; v <= 3; v++) {
      publisher.publish(SyncFixtures.update(v * 10, v));
    }
    assertEquals(List.of(20L, 30L), publisher.keptVersions());

    var evicted = assertThrows(UnknownVersionException.class, () -> publisher.manifest(10));
    assertTrue(evicted.evicted());
    var future = assertThrows(UnknownVersionException.class, () -> publisher.manifest(40));
    assertFalse(future.evicted());
    var gap = assertThrows(UnknownVersionException.class, () -> publisher.manifest(25));
    assertFalse(gap.evicted(), "25 was never published");
    assertEquals(30, publisher.manifest(30).version());
  }

  @Test
  void publishNext_assignsOneMoreThanTheNewest_fromZero() {
    assertEquals(0, publisher.publishNext(CONFIG, SyncFixtures.weights(1)).version());
    publisher.publish(SyncFixtures.update(8, 2));
    assertEquals(9, publisher.publishNext(CONFIG, SyncFixtures.weights(3)).version());
  }

  @Test
  void watch_hearsEachCommittedVersion_untilClosed_andAFailingWatcherHarmsNoOne() {
    List<Long> heard = new ArrayList<>();
    publisher.watch(m -> {
      throw new IllegalStateException("a broken watcher");
    });
    WeightPublisher.Registration r = publisher.watch(m -> heard.add(m.version()));
    publisher.publish(SyncFixtures.update(1, 1));
    assertThrows(IllegalArgumentException.class, () -> publisher.publish(SyncFixtures.update(1, 1)));
    publisher.publish(SyncFixtures.update(2, 2));
    r.close();
    publisher.publish(SyncFixtures.update(3, 3));

    assertEquals(List.of(1L, 2L), heard);
  }

  @Test
  void constructor_keepBelowOne_isRefused() {
    assertThrows(IllegalArgumentException.class, () -> new WeightPublisher(77, 0, Clock.systemUTC()));
    assertThrows(IllegalArgumentException.class, () -> new WeightPublisher(0, 2, Clock.systemUTC()));
  }
}
