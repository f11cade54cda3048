# One image for the API and the workers:
#   docker run IMAGE serve --host 0.0.0.0        (API; add --no-workers with separate workers)
#   docker run IMAGE worker                      (Dramatiq workers; needs Redis + ClickHouse server)
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
# The client SDK's source is built into the server's distribution (pyproject.toml).
COPY clients/python/src ./clients/python/src
COPY migrations ./migrations
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim-bookworm
RUN useradd --create-home --uid 10001 tracker
COPY --from=build /install /usr/local
WORKDIR /srv/saas-tracker
# The package runs from this folder (PYTHONPATH) so that it finds `migrations/` beside it.
COPY --chown=tracker alembic.ini ./
COPY --chown=tracker migrations ./migrations
COPY --chown=tracker app ./app
RUN mkdir -p /srv/saas-tracker/data && chown tracker /srv/saas-tracker/data
USER tracker
ENV SAAS_TRACKER_DATA_DIR=/srv/saas-tracker/data \
    PYTHONPATH=/srv/saas-tracker \
    PYTHONUNBUFFERED=1
VOLUME ["/srv/saas-tracker/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
ENTRYPOINT ["saas-tracker"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
