package dev.graft.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class DescriptionsTest {

  @Test
  void bound_keepsShortText_andNull() {
    String text = "x".repeat(Descriptions.MAX_CHARS);
    assertSame(text, Descriptions.bound(text));
    assertNull(Descriptions.bound(null));
  }

  @Test
  void bound_longText_keepsBothEnds_andCountsWhatWasLeftOut() {
    String text = "tokens must have shape (batch, time), got " + "9".repeat(20_000) + " (end)";
    String bounded = Descriptions.bound(text);
    assertTrue(bounded.length() <= Descriptions.MAX_CHARS, bounded);
    assertTrue(bounded.startsWith("tokens must have shape (batch, time), got 999"), bounded);
    assertTrue(bounded.endsWith("999 (end)"), bounded);
    int kept = bounded.length() - bounded.replaceAll("\\.\\.\\.\\(\\d+ characters left out\\)\\.\\.\\.", "").length();
    int omitted = Integer.parseInt(bounded.replaceAll(".*\\.\\.\\.\\((\\d+) characters left out\\).*", "$1"));
    assertEquals(text.length(), bounded.length() - kept + omitted, "kept + left out = the whole text");
  }

  @Test
  void bound_neverSplitsASurrogatePair() {
    String text = "\uD83D\uDE00".repeat(1000);
    String bounded = Descriptions.bound(text);
    assertTrue(bounded.length() <= Descriptions.MAX_CHARS);
    for (int i = 0; i < bounded.length(); i++) {
      char c = bounded.charAt(i);
      if (Character.isHighSurrogate(c)) {
        assertTrue(i + 1 < bounded.length() && Character.isLowSurrogate(bounded.charAt(i + 1)), "at " + i);
      } else if (Character.isLowSurrogate(c)) {
        assertTrue(i > 0 && Character.isHighSurrogate(bounded.charAt(i - 1)), "at " + i);
      }
    }
  }

  @Test
  void list_spellsOutShortLists_andCountsTheRestOfLongOnes() {
    assertEquals("[]", Descriptions.list(List.of()));
    assertEquals("[2, 3]", Descriptions.list(List.of(2L, 3L)));
    assertEquals("[1, 1, 1, 1, 1, 1, 1, 1, ... (4992 more)]",
        Descriptions.list(Collections.nCopies(5000, 1L)));
  }

  @Test
  void value_cutsOneLongValue() {
    assertEquals("model.norm.weight", Descriptions.value("model.norm.weight"));
    String cut = Descriptions.value("n".repeat(10_000));
    assertTrue(cut.length() <= Descriptions.MAX_VALUE_CHARS, cut);
    assertTrue(cut.endsWith("...(" + (10_000 - cut.indexOf('.')) + " characters left out)..."), cut);
  }
}
