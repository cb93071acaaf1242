# The guide's example, word for word: reference/guide-docker-python.fr.md (design notes'
# reference document), section "3. Exemple complet". bench/images.py builds it as a contender
# with one change: the FROM image becomes the tag copier.yml computes for base_image=uv and the
# guide's Python (uv_python_image), because astral-sh/uv publishes no bookworm image for current
# uv. The build context, .dockerignore included, is the generated project's.

# Utilise une image minimale avec Python 3.12 et uv préinstallé
FROM ghcr.io/astral-sh/uv:python3.12-bookworm-slim

# Change le répertoire de travail à /app
WORKDIR /app

# Copie les fichiers de gestion des dépendances
COPY pyproject.toml uv.lock ./

# Configure des variables d’environnement pour uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_FROZEN=1 \
    UV_LINK_MODE=copy \
    UV_NO_INSTALLER_METADATA=1 \
    VIRTUAL_ENV=/app/.venv \
    PYTHONUNBUFFERED=1

# Installe les dépendances (sans les dev) en utilisant le cache si possible
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --no-install-project --no-dev

# Ajoute le chemin du venv au PATH
ENV PATH="/app/.venv/bin:$PATH"

# Copie le reste du code source dans le conteneur
COPY . /app

# Commande exécutée par défaut : lance main.py
CMD [ "python", "main.py" ]
