package dev.graft.model;

/**
 * The most bytes that (positions × vocabulary) working buffers may take at once: logits,
 * log-probabilities and the temporaries of a loss or an output over the vocabulary. Code that
 * works over the vocabulary processes positions in chunks of {@link #positions} so that no such
 * buffer grows with the request or the batch; only the model's weights and (positions × hidden)
 * activations do.
 *
 * @param bytes the budget in bytes, &ge; 1
 */
public record VocabBudget(long bytes) {

  /** The largest budget accepted, 1 TiB: a larger one is a typo, not a machine. */
  public static final long MAX_MEGABYTES = 1L << 20;

  private static final long MB = 1L << 20;

  /**
   * 256 MiB: the run config's default and what code without a configured budget uses, fixed
   * rather than sized for the machine so that its results do not depend on where it runs (the
   * chunking changes the order of float sums).
   */
  public static final VocabBudget DEFAULT = new VocabBudget(256 * MB);

  public VocabBudget {
    if (bytes < 1) {
      throw new IllegalArgumentException("vocabulary budget (" + bytes + " bytes) must be >= 1");
    }
  }

  /**
   * A budget of {@code megabytes} MiB.
   *
   * @param what how the value is named where it was given (a flag or a config key), for the message
   * @throws IllegalArgumentException for a value outside [1, {@value #MAX_MEGABYTES}]
   */
  public static VocabBudget ofMegabytes(long megabytes, String what) {
    if (megabytes < 1 || megabytes > MAX_MEGABYTES) {
      throw new IllegalArgumentException(what + " (" + megabytes + ") must be in [1, " + MAX_MEGABYTES
          + "] MiB: the memory that (positions x vocabulary) buffers may take at once");
    }
    return new VocabBudget(megabytes * MB);
  }

  /**
   * A budget sized for this machine: 1/32 of its physical memory, at least 64 MiB and at most
   * 1 GiB (256 MiB on an 8 GiB machine). Falls back to 256 MiB where the size is unknown.
   */
  public static VocabBudget forMachine() {
    long physical = physicalMemoryBytes();
    long mb = physical <= 0 ? 256 : Math.max(64, Math.min(1024, physical / 32 / MB));
    return new VocabBudget(mb * MB);
  }

  /** The budget in whole MiB (at least 1 where the budget is smaller). */
  public long megabytes() {
    return Math.max(1, bytes / MB);
  }

  /**
   * How many positions a chunk may hold when each position needs {@code copies} float32 rows of
   * {@code vocab} values alive at once; at least 1, so a budget smaller than one row still makes
   * progress one position at a time.
   *
   * @param vocab the vocabulary size, &ge; 1
   * @param copies the (positions × vocabulary) float32 buffers the caller holds at once, &ge; 1
   */
  public int positions(int vocab, int copies) {
    if (vocab < 1 || copies < 1) {
      throw new IllegalArgumentException(
          "vocab (" + vocab + ") and copies (" + copies + ") must be >= 1");
    }
    long perPosition = (long) vocab * Float.BYTES * copies;
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, bytes / perPosition));
  }

  private static long physicalMemoryBytes() {
    java.lang.management.OperatingSystemMXBean os =
        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      return sun.getTotalMemorySize();
    }
    return -1;
  }

  @Override
  public String toString() {
    return bytes % MB == 0 ? megabytes() + " MiB" : bytes + " bytes";
  }
}
