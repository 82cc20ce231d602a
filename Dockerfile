# The intake service with the tools it shells out to: ffprobe (videos), LibreOffice (.doc/.wps
# forms, kept warm by unoserver, whose server side needs Debian's python3-uno), unar/bsdtar (rar
# archives), CJK fonts (LibreOffice, reports) and tzdata (schedules in Asia/Shanghai).  Settings come from INTAKE_… environment variables and secret files; see
# docker-compose.yml and deploy/intake.env.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ffmpeg libreoffice-writer-nogui python3-uno python3-venv unar libarchive-tools \
      fonts-noto-cjk tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && /usr/bin/python3 -m venv --system-site-packages /opt/venv-uno \
 && /opt/venv-uno/bin/pip install --no-cache-dir unoserver

RUN useradd --create-home --uid 1000 intake \
 && mkdir -p /data \
 && chown intake:intake /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY campaign campaign
COPY programs programs
COPY samples samples
COPY intake intake
COPY parsers parsers
COPY validators validators
COPY store store
COPY reports reports
RUN pip install --no-cache-dir .

USER intake
# Logs are one JSON event per line on stderr; unbuffered so `docker logs` shows them at once.
ENV INTAKE_DATA_DIR=/data \
    INTAKE_UNOSERVER=/opt/venv-uno/bin/unoserver \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# Created above, owned by intake: a new named volume starts with that ownership.
VOLUME ["/data"]
STOPSIGNAL SIGTERM
CMD ["intake", "run"]
