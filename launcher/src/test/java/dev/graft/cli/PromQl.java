package dev.graft.cli;

import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What a PromQL expression selects, for checking dashboards against what the roles export. */
final class PromQl {

  private static final Pattern QUOTED = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"");
  private static final Pattern GROUPING = Pattern.compile("\\b(by|without|on|ignoring|group_left|group_right)"
      + "\\s*\\([^)]*\\)");
  private static final Pattern IDENT = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left",
      "group_right", "and", "or", "unless", "bool", "offset");

  private PromQl() {}

  /**
   * The metric names a PromQL expression selects: identifiers outside strings, label matchers,
   * range brackets and grouping clauses, that are neither functions nor keywords.
   */
  static Set<String> metricNames(String expr) {
    String e = QUOTED.matcher(expr).replaceAll("\"\"");
    e = e.replaceAll("\\{[^}]*}", " ").replaceAll("\\[[^\\]]*]", " ");
    e = GROUPING.matcher(e).replaceAll(" ");
    Set<String> names = new TreeSet<>();
    Matcher m = IDENT.matcher(e);
    while (m.find()) {
      String id = m.group();
      boolean function = e.substring(m.end()).stripLeading().startsWith("(");
      boolean number = m.start() > 0 && Character.isDigit(e.charAt(m.start() - 1));
      if (!function && !number && !KEYWORDS.contains(id)) {
        names.add(id);
      }
    }
    return names;
  }
}
