"""Lance 2.0 pages read per batch rather than whole (decode20.c): dictionary-encoded strings (the
batch gathers its rows from the page's dictionary) and large uncompressed fixed-width pages (the
batch reads its rows straight from the file, pages of 8 MiB and more). Written here with pylance
(the fixtures' pages are too small), read back at several batch sizes and compared with pylance."""
import pyarrow as pa
import pytest

N = 300_000  # 300k x fixed_size_list<float, 8> = 9.6 MB: one page above the direct-read threshold


@pytest.fixture(scope="module")
def ds20(tmp_path_factory):
    lance = pytest.importorskip("lance")
    low = ["alpha", "beta", "gamma", "a much longer value of more than thirty-two bytes", ""]
    vec = pa.FixedSizeListArray.from_arrays(pa.array([float(i % 977) for i in range(N * 8)], pa.float32()), 8)
    t = pa.table({
        "vec": vec,
        "low": pa.array([low[(i * 7) % 5] for i in range(N)]),
        "low_nullable": pa.array([None if i % 11 == 0 else low[i % 5] for i in range(N)]),
        "st": pa.StructArray.from_arrays([pa.array(range(N), pa.int32()),
                                          pa.array([low[i % 3] for i in range(N)])], ["a", "b"]),
        "i64": pa.array(range(N), pa.int64()),
    })
    path = str(tmp_path_factory.mktemp("d20") / "ds")
    lance.write_dataset(t, path, data_storage_version="2.0")
    return path, lance.dataset(path).to_table()


@pytest.mark.parametrize("batch", [0, 8192, 1000, 7])
def test_pages_read_per_batch(lib, ds20, batch):
    path, expected = ds20
    with lib.Dataset(path) as ds:
        got = ds.scan(batch_size=batch, n_threads=1 + batch % 2)
    assert got.num_rows == N
    assert got.equals(expected)
    with lib.Dataset(path) as ds:
        sub = ds.scan(columns=["low_nullable", "vec"], batch_size=batch or 4096)
    assert sub.equals(expected.select(["low_nullable", "vec"]))
