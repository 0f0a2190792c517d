# The Seedance API server as a container image: built with the .NET SDK, run on the ASP.NET runtime
# as a non-root user, with ffmpeg (the sandbox provider renders with it) and fonts for its captions.
#   docker build -t seedance .
#   docker run -p 8080:8080 -v seedance-data:/data seedance
# Several nodes on PostgreSQL, S3 and Redis: deploy/compose.yaml.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files alone, so the layer is reused until a dependency changes.
# (global.json stays out: it pins the developers' SDK feature band; the image brings its own 10.0 SDK.)
COPY Directory.Build.props Directory.Packages.props ./
COPY src/Seedance.Server/Seedance.Server.csproj src/Seedance.Server/
RUN dotnet restore src/Seedance.Server/Seedance.Server.csproj
COPY src/ src/
RUN dotnet publish src/Seedance.Server/Seedance.Server.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app .
# The data directory holds the SQLite database and local files on one node; with PostgreSQL and S3 only
# the sandbox's job records and, unless Seedance__SigningKey is set, the link-signing key.
RUN mkdir /data && chown "$APP_UID" /data
ENV Seedance__DataDir=/data \
    ASPNETCORE_HTTP_PORTS=8080
VOLUME /data
EXPOSE 8080
USER $APP_UID
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["dotnet", "Seedance.Server.dll"]
