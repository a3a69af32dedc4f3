package dev.graft.service;

import java.util.List;

/**
 * Bounds the text a service sends back about a request. A gRPC status description travels in
 * the HTTP/2 trailers, which the peer caps (grpc-java: 8 KiB of headers); a description over the
 * cap never arrives — the stream is reset and the client sees {@code INTERNAL} instead of the
 * status meant. So every status mapping passes its description through {@link #bound(String)},
 * and messages that echo a value of the caller's choosing (a shape, a list, a name) format it
 * with {@link #list} or {@link #value} where they are written. Elided text says how much was
 * left out.
 */
public final class Descriptions {

  /** The most characters of a status description. */
  public static final int MAX_CHARS = 256;
  /** The most items {@link #list} spells out. */
  public static final int MAX_ITEMS = 8;
  /** The most characters {@link #value} keeps of one value. */
  public static final int MAX_VALUE_CHARS = 64;

  private static final int TAIL_CHARS = 32;

  private Descriptions() {}

  /**
   * {@code text} if it has at most {@link #MAX_CHARS} characters; otherwise its beginning and
   * end around {@code ...(N characters left out)...}, {@link #MAX_CHARS} characters in all.
   * Null stays null.
   */
  public static String bound(String text) {
    return elide(text, MAX_CHARS, TAIL_CHARS);
  }

  /**
   * A list as {@code [a, b, c]}, or its first {@link #MAX_ITEMS} items and
   * {@code ... (N more)} when longer; each item is bounded by {@link #value}.
   */
  public static String list(List<?> values) {
    StringBuilder sb = new StringBuilder("[");
    int shown = Math.min(values.size(), MAX_ITEMS);
    for (int i = 0; i < shown; i++) {
      sb.append(i == 0 ? "" : ", ").append(value(String.valueOf(values.get(i))));
    }
    if (values.size() > shown) {
      sb.append(", ... (").append(values.size() - shown).append(" more)");
    }
    return sb.append(']').toString();
  }

  /** One value of the caller's choosing (a name, an id), cut to {@link #MAX_VALUE_CHARS}. */
  public static String value(String text) {
    return elide(text, MAX_VALUE_CHARS, 0);
  }

  /** Keeps head and {@code tail} characters around a marker, {@code max} characters in all. */
  private static String elide(String text, int max, int tail) {
    if (text == null || text.length() <= max) {
      return text;
    }
    // The marker is longest when it counts every character, so this head always fits.
    int head = max - tail - marker(text.length()).length();
    head -= Character.isHighSurrogate(text.charAt(head - 1)) ? 1 : 0;
    int from = text.length() - tail;
    from += tail > 0 && Character.isLowSurrogate(text.charAt(from)) ? 1 : 0;
    return text.substring(0, head) + marker(from - head) + text.substring(from);
  }

  private static String marker(int omitted) {
    return "...(" + omitted + " characters left out)...";
  }
}
