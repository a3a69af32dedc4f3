package dev.graft.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class EndpointsAndBackoffTest {

  @Test
  void hostPort_parsesAndExplainsBadAddresses() {
    assertEquals(new HostPort("teacher-0.teacher", 50051), HostPort.parse("teacher-0.teacher:50051"));
    assertEquals("[::1]:7", HostPort.parse("[::1]:7").toString());
    assertEquals("endpoint 'nohost' must be host:port, e.g. localhost:50051",
        assertThrows(IllegalArgumentException.class, () -> HostPort.parse("nohost")).getMessage());
    assertEquals("endpoint 'a:b' has a port that is not a number",
        assertThrows(IllegalArgumentException.class, () -> HostPort.parse("a:b")).getMessage());
    assertEquals("endpoint 'a:70000' needs a host and a port in 1..65535",
        assertThrows(IllegalArgumentException.class, () -> HostPort.parse("a:70000")).getMessage());
    assertEquals(List.of(new HostPort("a", 1), new HostPort("b", 2)), HostPort.parseAll(List.of("a:1", "b:2")));
  }

  @Test
  void hostPort_resolvedTargets_keepTheirScheme_andUnknownSchemesAreRefused() {
    HostPort dns = HostPort.parse("dns:///teacher.graft.svc.cluster.local:50051");
    assertEquals(new HostPort("dns", "teacher.graft.svc.cluster.local", 50051), dns);
    assertEquals("dns:///teacher.graft.svc.cluster.local:50051", dns.toString());
    assertTrue(dns.resolved());
    HostPort k8s = HostPort.parse("k8s:///teacher.graft:50051");
    assertEquals("k8s:///teacher.graft:50051", k8s.toString());
    assertFalse(HostPort.parse("teacher:1").resolved());
    assertEquals("endpoint 'http://a:1' must be host:port, dns:///host:port or k8s:///service.namespace:port",
        assertThrows(IllegalArgumentException.class, () -> HostPort.parse("http://a:1")).getMessage());
    assertEquals("endpoint 'k8s://ns/a:1' must be host:port, dns:///host:port or k8s:///service.namespace:port",
        assertThrows(IllegalArgumentException.class, () -> HostPort.parse("k8s://ns/a:1")).getMessage());
    assertEquals("endpoint 'dns:///:1' must be host:port, e.g. localhost:50051",
        assertThrows(IllegalArgumentException.class, () -> HostPort.parse("dns:///:1")).getMessage());
  }

  @Test
  void backoff_doublesFromInitial_upToTheCap_withoutOverflow() {
    Backoff b = new Backoff(Duration.ofMillis(50), Duration.ofMillis(300));
    assertEquals(List.of(50L, 50L, 100L, 200L, 300L, 300L),
        List.of(0, 1, 2, 3, 4, 40).stream().map(n -> b.delay(n).toMillis()).toList());
    Backoff big = new Backoff(Duration.ofSeconds(10), Duration.ofMinutes(1));
    assertEquals(Duration.ofMinutes(1), big.delay(31));
    assertThrows(IllegalArgumentException.class, () -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)));
  }
}
