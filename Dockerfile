# The intake service with the tools it shells out to: ffprobe (videos), LibreOffice (.doc/.wps
# forms) and unar (rar archives).
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ffmpeg libreoffice-writer-nogui unar libarchive-tools fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 intake
WORKDIR /app
COPY pyproject.toml README.md ./
COPY intake intake
COPY parsers parsers
COPY validators validators
COPY store store
COPY reports reports
RUN pip install --no-cache-dir .

USER intake
ENV INTAKE_DATA_DIR=/data
VOLUME ["/data"]
CMD ["intake", "run"]
