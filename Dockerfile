# doorstep: OCR, clean and chunk messy documents.
#
#   docker build -t doorstep .
#   docker run --rm -v "$PWD:/data" doorstep convert file.pdf --format text
#   docker run --rm -v "$PWD:/data" doorstep run inbox -o out
#
# Files are read from and written to /data (mount your working directory there).

FROM python:3.11-slim-bookworm

# Telemetry off (unstructured via DO_NOT_TRACK/SCARF_NO_ANALYTICS, Prefect),
# one OpenMP thread per tesseract process (doorstep parallelises across pages).
ENV DO_NOT_TRACK=1 \
    SCARF_NO_ANALYTICS=true \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    OMP_THREAD_LIMIT=1 \
    PREFECT_HOME=/home/doorstep/.prefect \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Tesseract 5.3 and its English + orientation/script data from Debian bookworm.
# Pinned to the release series with apt version globs (quoted so the shell
# leaves them alone): Debian security updates still apply, a surprise
# upgrade to another series does not.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        'tesseract-ocr=5.3.*' \
        'tesseract-ocr-eng=1:4.1.*' \
        'tesseract-ocr-osd=1:4.1.*' \
    && rm -rf /var/lib/apt/lists/* \
    && tesseract --list-langs

WORKDIR /src
COPY pyproject.toml README.md ./
COPY pipelines ./pipelines
COPY extractors ./extractors
RUN pip install --no-cache-dir . \
    && rm -rf /src/build /src/*.egg-info

RUN groupadd --gid 10001 doorstep \
    && useradd --uid 10001 --gid doorstep --create-home --shell /usr/sbin/nologin doorstep \
    && mkdir -p /data /home/doorstep/.prefect \
    && chown doorstep:doorstep /data /home/doorstep/.prefect

# Numeric uid (the doorstep user above) so runtimes can verify it is not root.
USER 10001:10001
WORKDIR /data

ENTRYPOINT ["doorstep"]
CMD ["--help"]
