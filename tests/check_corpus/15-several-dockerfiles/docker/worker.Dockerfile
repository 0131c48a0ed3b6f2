FROM python:3.12.8-slim
COPY worker.py /app/worker.py
USER 10001
CMD ["python", "/app/worker.py"]
