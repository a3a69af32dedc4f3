package dev.graft.sync.bench;

import dev.graft.model.LlamaConfig;
import dev.graft.sync.PolicyUpdate;
import dev.graft.sync.TensorEntry;
import dev.graft.sync.publish.PolicyServer;
import dev.graft.sync.publish.WeightPublisher;
import dev.graft.sync.subscribe.PolicyInstaller;
import dev.graft.sync.subscribe.WeightSubscriber;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Measures weight sync end to end over loopback TCP (Netty): from the trainer calling
 * {@link WeightPublisher#publish} to a subscriber's installer holding the verified version, for
 * random fp32 weights of a given config. The first {@value #WARMUP} versions warm up and are not
 * counted.
 */
public final class WeightSyncBench {

  /** Versions synced before measuring, for the JIT. */
  static final int WARMUP = 3;

  /**
   * @param parameters parameters per version
   * @param bytes tensor bytes per version
   * @param versions versions measured (after the warm-up)
   * @param publishMillis median time of {@code publish}: copy, pack and hash
   * @param syncMillis median time from publish start to installed
   * @param syncMillisMax slowest publish-to-installed time
   * @param megabytesPerSecond bytes / median sync time
   */
  public record Result(long parameters, long bytes, int versions, double publishMillis,
      double syncMillis, double syncMillisMax, double megabytesPerSecond) {}

  private WeightSyncBench() {}

  /** Publishes warm-up plus {@code versions} versions of {@code config}, timing each until installed. */
  public static Result run(LlamaConfig config, int versions, long seed) throws Exception {
    if (versions < 1) {
      throw new IllegalArgumentException("versions (" + versions + ") must be >= 1");
    }
    Map<String, float[]> tensors = randomTensors(config, new Random(seed));
    BlockingQueue<Long> installedAt = new LinkedBlockingQueue<>();
    PolicyInstaller installer = new PolicyInstaller() {
      private volatile long version = -1;
      private volatile long epoch;

      @Override
      public void install(PolicyUpdate update) {
        epoch = update.epoch();
        version = update.version();
        installedAt.add(System.nanoTime());
      }

      @Override
      public long currentVersion() {
        return version;
      }

      @Override
      public long currentEpoch() {
        return epoch;
      }

      @Override
      public void retire(long newEpoch) {
        epoch = 0;
        version = -1;
      }
    };
    WeightPublisher publisher = new WeightPublisher();
    double[] publish = new double[versions];
    double[] sync = new double[versions];
    long bytes = 0;
    try (PolicyServer server = PolicyServer.start(publisher, 0);
        WeightSubscriber subscriber = WeightSubscriber.builder()
            .endpoint("localhost:" + server.port()).installer(installer).build().start()) {
      for (int v = 0; v < WARMUP + versions; v++) {
        tensors.values().forEach(t -> t[0] += 1f); // a new policy each time
        long start = System.nanoTime();
        bytes = publisher.publish(new PolicyUpdate(v, config, tensors)).totalBytes();
        long published = System.nanoTime();
        Long done = installedAt.poll(2, TimeUnit.MINUTES);
        if (done == null) {
          throw new IllegalStateException("version " + v + " was not installed within 2 minutes: "
              + subscriber.stats());
        }
        if (v >= WARMUP) {
          publish[v - WARMUP] = (published - start) / 1e6;
          sync[v - WARMUP] = (done - start) / 1e6;
        }
      }
    }
    double median = median(sync);
    return new Result(config.parameterCount(), bytes, versions, median(publish), median,
        Arrays.stream(sync).max().orElse(0), bytes / 1e6 / (median / 1e3));
  }

  static Map<String, float[]> randomTensors(LlamaConfig config, Random random) {
    Map<String, float[]> tensors = new LinkedHashMap<>();
    for (Map.Entry<String, List<Long>> e : config.tensorShapes().entrySet()) {
      float[] values = new float[(int) TensorEntry.elementCount(e.getValue())];
      for (int i = 0; i < values.length; i++) {
        values[i] = (float) random.nextGaussian() * 0.02f;
      }
      tensors.put(e.getKey(), values);
    }
    return tensors;
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  /** {@code [vocab=4096] [versions=5]}: benchmarks the small preset and prints the result. */
  public static void main(String[] args) throws Exception {
    int vocab = args.length > 0 ? Integer.parseInt(args[0]) : 4096;
    int versions = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    Result r = run(LlamaConfig.small(vocab), versions, 42);
    System.out.printf(
        "weight sync, small(%d) over loopback: %,d params, %,d bytes/version, %d versions%n"
            + "  publish (copy+sha256): %.1f ms median%n"
            + "  publish -> installed:  %.1f ms median, %.1f ms max, %.0f MB/s%n",
        vocab, r.parameters(), r.bytes(), r.versions(), r.publishMillis(), r.syncMillis(),
        r.syncMillisMax(), r.megabytesPerSecond());
  }
}
